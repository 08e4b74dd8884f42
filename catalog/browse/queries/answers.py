"""What the rule search says besides its list: a direct answer at the top, a snippet under each rule's
title (catalog.search.snippets), a suggestion when nothing matched.

A query that *is* a technique id, a rule id or a field name gets one link to that thing's page
("Go to T1003.001 OS Credential Dumping: LSASS Memory — 79 rules"). A query that matched nothing
gets a near spelling: on PostgreSQL from pg_trgm's word similarity against rule titles, on SQLite
from the title vocabulary (difflib); both then keep only spellings that do find rules.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import uuid
from dataclasses import dataclass

from django.db import connection, transaction
from django.urls import reverse

from catalog.browse import rule_rows
from catalog.browse.queries.attack import techniques_with_counts
from catalog.models import CatalogVersion, FieldSummary, Indicator, Rule, Technique
from catalog.search import ranking, snippets
from catalog.search.text import is_technique_id, tokens

SUGGESTION_CUTOFF = 0.75  # difflib ratio (SQLite) / a similar bar for trigram word similarity (PostgreSQL)
TRIGRAM_CUTOFF = 0.5


@dataclass
class DirectAnswer:
    kind: str  # "technique", "rule" or "field"
    label: str
    href: str
    count: int  # live rules behind the link


def direct_answer(text: str) -> DirectAnswer | None:
    """The page a query names exactly, if any (2 queries at most)."""
    wanted = (text or "").strip()
    if not wanted:
        return None
    if is_technique_id(wanted):
        technique = techniques_with_counts().filter(technique_id=wanted.upper()).first()
        if technique is not None:  # its rules and its sub-techniques' (the summary table's rolled count)
            label = f"{technique.technique_id} {_technique_name(technique)}".strip()
            href = reverse("browse:technique-detail", args=[technique.technique_id])
            return DirectAnswer("technique", label, href, technique.rolled_count)
    with contextlib.suppress(ValueError):
        rule = Rule.objects.public().filter(uuid=uuid.UUID(wanted)).first()
        if rule is not None:
            return DirectAnswer("rule", rule.title, reverse("browse:rule-detail", args=[rule.uuid]), 1)
    if " " not in wanted:
        field = _field_names(CatalogVersion.current()).get(wanted.casefold())
        if field is not None:
            summary = FieldSummary.objects.filter(whole=True, field=field).values_list("rules", flat=True).first()
            return DirectAnswer("field", field, reverse("browse:field-detail", args=[field]), summary or 0)
    return None


@functools.lru_cache(maxsize=2)
def _field_names(catalog_version: int) -> dict[str, str]:
    """Casefolded field name -> field name, of fields live rules test; read once per catalog version
    (a case-insensitive match over every indicator row costs more than the whole search)."""
    fields = Indicator.objects.filter(corpus_count__gt=0).exclude(field="").values_list("field", flat=True)
    return {field.casefold(): field for field in fields.order_by().distinct()}


def _technique_name(technique: Technique) -> str:
    """A sub-technique's name with its parent's ("OS Credential Dumping: LSASS Memory")."""
    parent_id = technique.technique_id.partition(".")[0]
    if parent_id == technique.technique_id:
        return technique.name
    parent = Technique.objects.filter(technique_id=parent_id).values_list("name", flat=True).first()
    return f"{parent}: {technique.name}" if parent else technique.name


def suggestion(text: str, queryset) -> str | None:
    """A near spelling of `text` that finds rules in `queryset` (the current filters), or None."""
    words = (text or "").split()
    if not words or len(words) > 6:
        return None
    corrected, changed = [], False
    for word in words:
        near = _near_spelling(word)
        corrected.append(near or word)
        changed |= near is not None
    if not changed:
        return None
    candidate = " ".join(corrected)
    return candidate if ranking.search(queryset, candidate).exists() else None


def _near_spelling(word: str) -> str | None:
    """The closest title word to `word` when `word` itself is no title word (None: keep it)."""
    parts = tokens(word)
    if len(parts) != 1 or len(parts[0]) < 4:
        return None  # punctuation-joined words and short ones are left as typed
    word = parts[0]
    if connection.vendor == "postgresql":
        return _trigram_near(word)
    return _vocabulary_near(word)


def _trigram_near(word: str) -> str | None:
    """The closest word of the 20 live titles most like `word` (pg_trgm's word similarity at least
    TRIGRAM_CUTOFF). `word <% title` is that condition through the titles' trigram index (migration 0023): the
    similarity of every title took 0.5 s a word at 20x SigmaHQ. Its threshold is set for this transaction only."""
    from django.contrib.postgres.search import TrigramWordSimilarity

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('pg_trgm.word_similarity_threshold', %s, true)", [str(TRIGRAM_CUTOFF)])
        titles = list(
            Rule.objects.live()
            .annotate(similarity=TrigramWordSimilarity(word, "title"))
            .extra(where=[f'%s <%% "{Rule._meta.db_table}"."title"'], params=[word])
            .filter(similarity__gte=TRIGRAM_CUTOFF)
            .order_by("-similarity")
            .values_list("title", flat=True)[:20]
        )
    vocabulary = {token for title in titles for token in tokens(title)}
    return _closest(word, vocabulary)


def _vocabulary_near(word: str) -> str | None:
    return _closest(word, *_title_words(CatalogVersion.state()))


@functools.lru_cache(maxsize=2)
def _title_words(catalog_state: tuple) -> tuple[frozenset, list]:
    """The words of live rules' titles (their search documents' title column), as a set and sorted, read once per
    catalog version: reading every title again for each word cost 300 ms a zero-result search at 20x SigmaHQ."""
    from catalog.models.search import RuleSearch

    words = set()
    for title in RuleSearch.objects.filter(rule__in=Rule.objects.live()).values_list("title", flat=True):
        words.update(title.split())
    return frozenset(words), sorted(words)


def attach_snippets(page, text: str) -> None:
    """Give the page's rules their snippets (`page.object_list.snippets`, by rule id: 1 query). The page's
    rule ids are read here, once (catalog.browse.rule_rows.ListedRules): the rule table reuses them."""
    if not page.paginator.count:  # nothing listed: no rows to read
        return
    if not isinstance(page.object_list, rule_rows.ListedRules):
        page.object_list = rule_rows.listed(page.object_list)
    page.object_list.snippets = snippets.snippets(page.object_list.ids, text)


def _closest(word: str, vocabulary, ordered: list[str] | None = None) -> str | None:
    if word in vocabulary:
        return None
    near = difflib.get_close_matches(word, ordered or sorted(vocabulary), n=1, cutoff=SUGGESTION_CUTOFF)
    return near[0] if near else None


RELEVANCE_EXPLAINED = (
    "Sorted by relevance: an exact rule id, title or technique first, then rules whose title holds more of the "
    "words searched, then matches in titles, in the values rules look for, tags and technique names, then in "
    "descriptions, references and authors."
)


def search_context(filterset, page) -> dict:
    """The rule list page's search extras: the order it shows, a direct answer (on the first page, above
    the results), each listed rule's snippet (1 query), a suggestion when nothing matched."""
    from catalog.browse.queries.rules import cleaned, rule_filterset

    data = cleaned(filterset)
    text = (data.get("q") or "").strip()
    if not text:
        return {}
    attach_snippets(page, text)
    extras = {"answer": direct_answer(text) if page.number == 1 else None}
    if not data.get("sort"):
        extras["order_note"] = RELEVANCE_EXPLAINED
    if not page.paginator.count:
        others = filterset.data.copy()
        others.pop("q", None)
        others.pop("page", None)
        extras["suggestion"] = suggestion(text, rule_filterset(others).qs)
    return extras
