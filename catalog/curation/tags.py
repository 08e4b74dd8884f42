"""Local tags: curators add tags to a rule, or hide its Sigma tags, without touching the Sigma file.

The effective tags (Sigma tags minus local removals plus local additions) feed the tag filter
column `Rule.tag_text`, encoded once in catalog.models (`tag_text`, `RuleQuerySet.with_tag`).
A removed Sigma tag stays removed after re-imports, as long as the Sigma rule still carries it.
"""

from __future__ import annotations

import re

from catalog.curation.fields import CurationError
from catalog.models import Rule

# A tag is one token: the tag filter column joins tags with "|", and the admin edits them comma-separated.
TAG_RE = re.compile(r"^[^\s,|]+$")


def clean_tag(tag: str) -> str:
    tag = (tag or "").strip()
    if not tag:
        raise CurationError("a tag cannot be empty")
    if not TAG_RE.match(tag):
        raise CurationError(f"invalid tag {tag!r}: a tag is one word without spaces, commas or '|'")
    return tag


def clean_tags(tags) -> list[str]:
    """A list of valid tags, duplicates (case-insensitive) dropped, order kept."""
    result, seen = [], set()
    for tag in tags:
        tag = clean_tag(tag)
        if tag.lower() not in seen:
            seen.add(tag.lower())
            result.append(tag)
    return result


def parse_tag_text(text: str) -> list[str]:
    """'a, b c' -> ['a', 'b', 'c']: the admin's comma (or space) separated tag input."""
    return clean_tags(t for t in re.split(r"[,\s]+", text or "") if t)


def format_tags(tags) -> str:
    return ", ".join(tags or [])


def add_local_tag(rule: Rule, tag: str) -> None:
    """Make `tag` one of the rule's effective tags (undoing a local removal if there is one)."""
    tag = clean_tag(tag)
    rule.local_tags_removed = [t for t in rule.local_tags_removed if t.lower() != tag.lower()]
    if tag.lower() not in {t.lower() for t in rule.effective_tags}:
        rule.local_tags_added = [*rule.local_tags_added, tag]
    rule.refresh_tag_text()


def remove_local_tag(rule: Rule, tag: str) -> None:
    """Take `tag` out of the effective tags: drop a local addition, or hide the Sigma tag locally."""
    tag = clean_tag(tag)
    rule.local_tags_added = [t for t in rule.local_tags_added if t.lower() != tag.lower()]
    removed = {t.lower() for t in rule.local_tags_removed}
    if tag.lower() in {t.lower() for t in rule.tags} and tag.lower() not in removed:
        rule.local_tags_removed = [*rule.local_tags_removed, tag]
    rule.refresh_tag_text()
