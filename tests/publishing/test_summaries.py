"""The summary tables (catalog.publishing.summaries) equal a count made from the rules themselves, after every
kind of change.

The reference counts here read the rules, their tags and indicators directly (Python over ORM rows), not
through the aggregates catalog.publishing.summaries stores, and are compared with what the pages and the API show:
facets of the unfiltered rule list, the ATT&CK matrix and technique pages, events, log sources, fields and
the overview totals. Each check runs again after a hide, an unhide, a curator's level override, a retirement
and a re-import that changes a rule.
"""

from collections import Counter, defaultdict

from django.http import QueryDict

from catalog.browse.queries import attack, events, facets, fields, overview
from catalog.browse.queries.indicators import listed_indicators
from catalog.browse.queries.rules import rule_filterset
from catalog.curation.edits import Edit, apply_edit
from catalog.importing.importer import import_paths
from catalog.models import EventType, Rule, RuleIndicator
from catalog.publishing.visibility import set_visibility
from tests.constants import CRADLE_ID

LOOKED_FOR = ("looks_for", "both")
EXCLUDED = ("excludes", "both")


def live_rules():
    return list(Rule.objects.filter(hidden=False, retired=False).prefetch_related("techniques", "events"))


def check_everything() -> None:
    rules = live_rules()
    _check_levels_and_totals(rules)
    _check_techniques(rules)
    _check_events_and_logsources(rules)
    _check_fields({r.pk: r for r in rules})


def _check_levels_and_totals(rules) -> None:
    shown = {f.name: {c.value: c.count for c in f.choices} for f in facets.rule_facets(rule_filterset(QueryDict("")))}
    assert shown["level"] == dict(Counter(r.level_override or r.level for r in rules if r.level_override or r.level))
    assert shown["retired"]["false"] == len(rules)
    totals = overview.overview()["totals"]
    assert totals["rules"] == len(rules)
    assert totals["techniques"] == len({t.pk for r in rules for t in r.techniques.all()})
    # Events: those whose page lists a rule, by the page's own query (the rules each event runs, with every field
    # they look for: catalog.browse.queries.events.event_rules over NeedSignature.runs).
    assert totals["events"] == sum(events.event_rules(e).exists() for e in EventType.objects.all())
    assert totals["indicators"] == listed_indicators().count()


def _check_techniques(rules) -> None:
    direct, rolled = Counter(), Counter()
    for rule in rules:
        ids = {t.technique_id for t in rule.techniques.all()}
        direct.update(ids)
        rolled.update({i.split(".")[0] for i in ids})
    for technique in attack.techniques_with_counts():
        tid = technique.technique_id
        assert technique.rule_count == direct[tid], tid
        assert technique.rolled_count == (rolled[tid] if "." not in tid else direct[tid]), tid
    assert any(direct.values())


def _check_events_and_logsources(rules) -> None:
    # The stored counts (catalog.core.taxonomy.event_counts over the need signatures) equal what each event's page
    # lists (its rules filtered on NeedSignature.runs): two paths from the same taxonomy ways.
    listed = {e.pk: events.event_rules(e).count() for e in EventType.objects.all()}
    assert {e.pk: e.rule_count for e in events.events_with_counts()} == listed
    # Each live detection rule is listed by at least one of the events it names, where it names one it can run on.
    shown = {e.pk: set(events.event_rules(e).values_list("pk", flat=True)) for e in EventType.objects.all()}
    named = [r for r in rules if r.rule_type == "rule" and r.product == "windows" and r.service and r.events.all()]
    assert named and all(any(r.pk in shown[e.pk] for e in r.events.all()) for r in named)
    expected = Counter((r.product, r.category, r.service) for r in rules)
    assert {(x["product"], x["category"], x["service"]): x["rules"] for x in events.logsource_counts()} == expected


def _check_fields(live: dict) -> None:
    rules_of, looking, excluding, indicators = defaultdict(set), defaultdict(set), defaultdict(set), defaultdict(set)
    for rule_id, field, indicator_id, polarity in RuleIndicator.objects.values_list(
        "rule_id", "indicator__field", "indicator_id", "polarity"
    ):
        if rule_id in live:
            rules_of[field].add(rule_id)
            indicators[field].add(indicator_id)
            (looking if polarity in LOOKED_FOR else excluding)[field].add(rule_id)
            if polarity == "both":
                excluding[field].add(rule_id)
    shown = {row["field"]: row for row in fields.field_table()}
    assert set(shown) == set(rules_of)
    for field, row in shown.items():
        assert row["rules"] == len(rules_of[field]), field
        assert row["indicators"] == len(indicators[field]), field
        assert row["rules_looking"] == len(looking[field]), field
        assert row["rules_excluding"] == len(excluding[field]), field
    by_source = Counter(
        (f, live[r].product, live[r].category, live[r].service) for f, ids in rules_of.items() for r in ids
    )
    for field in list(shown)[:5]:
        for row in fields.field_logsources(field):
            assert row["rules"] == by_source[(field, row["product"], row["category"], row["service"])]


def test_summaries_equal_the_rules_after_import(example_rules):
    check_everything()


def test_summaries_follow_hide_unhide_and_retire(example_rules):
    cradle = Rule.objects.filter(uuid=CRADLE_ID)
    set_visibility(cradle, hidden=True)
    check_everything()
    set_visibility(cradle, hidden=False)
    check_everything()
    set_visibility(Rule.objects.filter(pk=example_rules.order_by("pk").first().pk), retired=True)
    check_everything()


def test_summaries_follow_a_curators_level_and_tags(example_rules, admin_user):
    rule = example_rules.exclude(level="critical").first()
    assert apply_edit(rule, Edit(level="critical", add_tags=["attack.t1003.001"]), admin_user)
    check_everything()


def test_summaries_follow_a_reimport_that_changes_a_rule(db, examples):
    import_paths([str(examples)], source="examples2")
    check_everything()
    changed = next(examples.rglob("*.yml"))
    text = changed.read_text()
    changed.write_text(text.replace("level: high", "level: low").replace("level: medium", "level: low"))
    import_paths([str(examples)], source="examples2")
    check_everything()


def test_a_rule_saved_in_the_admin_updates_the_facets(example_rules):
    rule = example_rules.exclude(level="informational").first()
    before = _level_count("informational")
    rule.level_override = "informational"
    rule.save()  # the admin's change form saves the model: the post_save signal bumps the version
    assert _level_count("informational") == before + 1


def _level_count(level: str) -> int:
    shown = {f.name: f for f in facets.rule_facets(rule_filterset(QueryDict("")))}
    return {c.value: c.count for c in shown["level"].choices}.get(level, 0)


def test_the_indicator_lists_count_from_the_summary_equals_a_count(client, example_rules):
    set_visibility(Rule.objects.filter(uuid=CRADLE_ID), hidden=True)  # some indicators leave the list
    listed = listed_indicators().count()
    assert client.get("/api/indicators/").json()["count"] == listed
    assert client.get("/api/indicators/?page_size=500").json()["count"] == listed
    assert f"<strong>{listed}</strong>" in client.get("/indicators/").content.decode()
    assert client.get("/api/indicators/?kind=eq").json()["count"] < listed  # filtered lists are counted


def test_rule_lists_counted_from_the_summary_equal_a_count(client, example_rules):
    set_visibility(Rule.objects.filter(uuid=CRADLE_ID), hidden=True)
    live = Rule.objects.filter(hidden=False, retired=False)
    tactic = live.filter(tactics__isnull=False).values_list("tactics__shortname", flat=True).first()
    expected = {
        f"tactic={tactic}": live.filter(tactics__shortname=tactic).distinct().count(),
        "level=high&level=critical": sum(1 for r in live if (r.level_override or r.level) in ("high", "critical")),
        "level=high": sum(1 for r in live if (r.level_override or r.level) == "high"),
    }
    for query, count in expected.items():
        assert client.get(f"/api/rules/?{query}").json()["count"] == count > 0, query
        assert f"<strong>{count}</strong> rule" in client.get(f"/rules/?{query}").content.decode(), query


def _check_corpus_counts() -> None:
    """Every indicator's corpus counts equal the live rules that look for it, and that exclude it."""
    from catalog.models import Indicator

    looking, excluding = defaultdict(set), defaultdict(set)
    live = set(Rule.objects.filter(hidden=False, retired=False).values_list("pk", flat=True))
    for rule_id, indicator_id, polarity in RuleIndicator.objects.values_list("rule_id", "indicator_id", "polarity"):
        if rule_id in live:
            if polarity in LOOKED_FOR:
                looking[indicator_id].add(rule_id)
            if polarity in EXCLUDED:
                excluding[indicator_id].add(rule_id)
    for pk, corpus_count, exclude_count in Indicator.objects.values_list("pk", "corpus_count", "exclude_count"):
        assert (corpus_count, exclude_count) == (len(looking[pk]), len(excluding[pk])), pk


def test_rules_deleted_in_the_admin_publish_once_and_leave_every_count_exact(client, admin_user, example_rules):
    """The admin's "delete selected" sends post_delete once per rule: one new version, exact counts."""
    from catalog.models import CatalogVersion

    _check_corpus_counts()
    doomed = list(example_rules.order_by("pk").values_list("pk", flat=True))[::2]  # half, on every log source
    assert len(doomed) > 1
    before = CatalogVersion.current()
    client.force_login(admin_user)
    response = client.post(
        "/admin/catalog/rule/", {"action": "delete_selected", "_selected_action": doomed, "post": "yes"}
    )
    assert response.status_code == 302, response.content[:500]
    assert not Rule.objects.filter(pk__in=doomed).exists()
    assert CatalogVersion.current() == before + 1  # once, not once per deleted rule
    check_everything()
    _check_corpus_counts()


def test_one_rule_deleted_outside_the_admin_also_leaves_the_counts_exact(example_rules):
    example_rules.order_by("pk").first().delete()
    check_everything()
    _check_corpus_counts()
