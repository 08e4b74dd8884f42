"""The read path: what every public page and its /api/ twin show, one module per subject.

Each page and its JSON twin call the same function here and only shape the result
(tests/browse/test_read_path.py lists the pairs). Every function answers with a fixed number of SQL
queries, whatever the size of the rule or of the catalog: aggregates are computed by the
database, related rows come through select_related / prefetch_related, long lists are sliced or
paginated by the caller. Which rules a reader sees is decided by Rule.objects (catalog.models):

* hidden rules (a curator's decision) never appear: `Rule.objects.public()`;
* retired rules (gone from their repository) keep their page, but listings and counts show the
  live catalog (`Rule.objects.live()`), like the indicators' corpus counts do.

Modules: rules (the filtered, sorted rule list), facets, rule_index and rule_matches (the rules a list's
filters match, by id, from an index kept per catalog version: its count and facet counts), broad_words (the
champion lists of the words many titles hold, kept per catalog version too), first_rows (a list's first page
without sorting all it matches), overview, rule_page (one rule),
records (the export record, also /api/rules/<id>/), history (a rule's changes), indicators,
fields, attack, events (events and log sources), changes (what each import changed), filters.
"""
