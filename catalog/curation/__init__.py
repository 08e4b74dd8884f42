"""Curation: the curator-owned state of a rule, and the one place that changes it.

The admin, the `curate` command and `import_curation` all go through this package, so the rules
are the same everywhere: verifying stamps who and when, local tags keep the tag filter column
(`Rule.tag_text`) in step, only curation columns are ever saved (an import running at the same
time can never be overwritten with stale Sigma content), `hidden` changes only through
catalog.publishing.visibility (which recounts corpus counts and bumps the catalog version), and every change
leaves an admin history entry (LogEntry) naming the user and the fields.

Modules:
- fields: the curation fields, their defaults and labels, value checks, "is this rule curated";
- tags: local tag edits (valid tags, adding and removing them);
- audit: who a change is recorded under, and the admin history entries;
- edits: applying an edit to one rule or many, and saving it;
- transfer: export_curation / import_curation files.
"""
