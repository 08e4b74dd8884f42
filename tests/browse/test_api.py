"""The REST API (/api/): content, filters, errors and query counts.

Tests that request `corpus` read the imported SigmaHQ snapshot (real counts, more rules than a
page holds, subjects of very different sizes); the others read the example rules of rules/.
"""

import uuid
from functools import lru_cache
from urllib.parse import urlencode

import pytest
import yaml
from django.http import QueryDict

from catalog.browse.queries import rule_index
from catalog.browse.queries.filtersets import SORTS, RuleFilterSet
from catalog.models import EventType, Indicator, Rule, RuleIndicator, Technique
from catalog.publishing.versioning import bump_version
from catalog.publishing.visibility import set_visibility
from tests.constants import (
    BIG_RULE_ID,
    CERTUTIL_ID,
    CORPUS,
    CORPUS_FOLDERS,
    CORPUS_RULES,
    CRADLE_ID,
    FILTER_RULE_ID,
    REFERENCE_RULE_ID,
    SMALL_RULE_ID,
    TEMPORAL_CORRELATION_ID,
)

pytestmark = pytest.mark.django_db

LARGE_RULE_ID = BIG_RULE_ID  # Vulnerable Driver Load: 4,400+ indicators
# Every anonymous API request reads and then writes its client's rate-limit counter in the shared
# DatabaseCache (catalog/platform/throttling.py): get, then set = count + savepoint + select + write + release.
THROTTLE_QUERIES = 6


def get(client, url, expect=200, /, **params):
    """GET as JSON, asserting the status (positional, so filters may be called `status`)."""
    response = client.get(url, params)
    assert response.status_code == expect, (url, params, response.content[:500])
    return response.json()


def all_ids(client, url="/api/rules/", /, **params):
    """Every `id` of a paginated listing, walking the `next` links."""
    ids, page = [], get(client, url, page_size=500, **params)
    while True:
        ids += [item["id"] for item in page["results"]]
        if not page["next"]:
            return ids
        page = client.get(page["next"]).json()


def all_ids_items(client, **params):
    """The first 500 items of a rule listing."""
    return get(client, "/api/rules/", page_size=500, **params)["results"]


def filterset_ids(**params):
    """What the HTML list computes for the same query string (it uses the same FilterSet)."""
    filterset = RuleFilterSet(QueryDict(urlencode(params, doseq=True)), queryset=Rule.objects.filter(hidden=False))
    assert filterset.is_valid(), filterset.errors
    return {str(u) for u in filterset.qs.values_list("uuid", flat=True)}


@lru_cache
def net_exe_both() -> int:
    """Live rules that both look for and exclude `Image ends_with \\net.exe` (counted in both of its counts)."""
    return RuleIndicator.objects.filter(
        indicator__field="Image", indicator__kind="ends_with", indicator__value="\\net.exe", polarity="both"
    ).count()


def net_exe_rule_ids() -> frozenset:
    """Rules of the corpus YAML with `Image|endswith: \\net.exe` or `Image: '*\\net.exe'` (case-insensitive)."""
    found = set()
    for folder in CORPUS_FOLDERS:
        for path in sorted((CORPUS / folder).rglob("*.yml")):
            rule = yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader)  # libyaml: 10x faster than pure Python
            for name, block in (rule.get("detection") or {}).items():
                maps = block if isinstance(block, list) else [block]
                for item in (m for m in maps if isinstance(m, dict) and name != "condition"):
                    for key, values in item.items():
                        for value in values if isinstance(values, list) else [values]:
                            if not isinstance(value, str):
                                continue
                            if (key == "Image|endswith" and "\\net.exe" in value.lower()) or (
                                key == "Image" and value.lower() == "*\\net.exe"
                            ):
                                found.add(rule["id"])
    return frozenset(found)


# --- rules -----------------------------------------------------------------------------------


def test_root_links_every_listing(client):
    links = get(client, "/api/")
    assert links["rule"].endswith("/api/rules/") and links["schema"].endswith("/api/schema/")


def test_reference_rule_detail(client, corpus):
    rule = get(client, f"/api/rules/{REFERENCE_RULE_ID}/")
    assert rule["id"] == REFERENCE_RULE_ID
    assert rule["title"] == "System Network Connections Discovery Via Net.EXE"
    assert rule["url"] == f"http://testserver/rules/{REFERENCE_RULE_ID}/"
    assert rule["attack"] == [
        {
            "tactic": "Discovery",
            "technique_id": "T1049",
            "technique_name": "System Network Connections Discovery",
            "known": True,
        }
    ]
    assert {"provider": "Sysmon", "event_id": 1, "title": "Process creation"} in rule["events"]
    assert [stage["name"] for stage in rule["stages"]] == ["condition", "selection_img", "selection_cli"]
    net_exe = [
        i for i in rule["indicators"] if (i["field"], i["kind"], i["value"]) == ("Image", "ends_with", "\\net.exe")
    ]
    assert len(net_exe) == 1
    # Carriers of the value look for it (corpus_count), exclude it (exclude_count), or both (in both counts).
    assert net_exe[0]["polarity"] == "looks_for"
    assert net_exe[0]["corpus_count"] + net_exe[0]["exclude_count"] - net_exe_both() == len(net_exe_rule_ids()) > 1
    assert net_exe[0]["exclude_count"] >= 1  # a rule allows net.exe in a filter block


def test_rule_detail_is_the_export_record(client, export_catalog):
    exported = export_catalog()
    for rule_id in (CERTUTIL_ID, TEMPORAL_CORRELATION_ID, FILTER_RULE_ID):  # a rule, a correlation, a filter
        detail = get(client, f"/api/rules/{rule_id}/")
        assert detail.pop("url") == f"http://testserver/rules/{rule_id}/"
        assert detail == exported[rule_id]


@pytest.mark.parametrize("rule_id", [SMALL_RULE_ID, LARGE_RULE_ID])
def test_rule_detail_query_count(client, corpus, django_assert_num_queries, rule_id):
    # rule + tactics + techniques + events + stages + predicates + indicators (the ATT&CK table is built
    # from the reference data, so the techniques' tactics are no longer read: 8 queries before)
    with django_assert_num_queries(7 + THROTTLE_QUERIES):
        client.get(f"/api/rules/{rule_id}/")


def test_rule_list_items(client, corpus):
    page = get(client, "/api/rules/")
    assert page["count"] == Rule.objects.filter(hidden=False, retired=False).count() == CORPUS_RULES
    assert len(page["results"]) == 50 and page["next"] and page["previous"] is None
    item = next(i for i in all_ids_items(client, q="net.exe network connections") if i["id"] == REFERENCE_RULE_ID)
    assert item == {
        "id": REFERENCE_RULE_ID,
        "title": "System Network Connections Discovery Via Net.EXE",
        "status": "test",
        "level": "low",
        "logsource": {"product": "windows", "category": "process_creation", "service": ""},
        "tags": ["attack.discovery", "attack.t1049"],
        "author": "frack113",
        "date": "2021-12-10",
        "modified": "2023-02-21",
        "retired": False,
        "source": "sigmahq",
        "path": "rules/windows/process_creation/proc_creation_win_net_use_network_connections_discovery.yml",
        "url": f"http://testserver/rules/{REFERENCE_RULE_ID}/",
        "api_url": f"http://testserver/api/rules/{REFERENCE_RULE_ID}/",
    }


@pytest.mark.parametrize("page", [1, 3])
def test_rule_list_query_count(client, generated_rules, django_assert_num_queries, page):
    generated_rules(120)  # with the example rules, more than three pages
    rule_index.current()  # built once per catalog version and process (catalog.browse.queries.rule_index)
    # The catalog version (the rule index's key; the count comes from the index), the page's ids, its rows.
    with django_assert_num_queries(3 + THROTTLE_QUERIES):
        response = client.get("/api/rules/", {"page": page, "sort": "-level"})
    assert len(response.json()["results"]) == 50


def test_page_size_is_capped(client, generated_rules):
    generated_rules(480)  # with the example rules, more than 500
    assert len(get(client, "/api/rules/", page_size=10_000)["results"]) == 500


@pytest.mark.parametrize(
    "params",
    [
        {"status": "stable"},
        {"status": ["stable", "test"]},
        {"level": "critical"},
        {"level": ["high", "critical"], "product": "windows"},
        {"tactic": "discovery"},
        {"technique": "T1049"},
        {"technique": "t1059"},
        {"tag": "attack.t1059.001"},
        {"q": "net.exe"},
        {"q": "mimikatz lsass"},
        {"category": "process_creation", "level": "high"},
        {"author": "frack113"},
        {"source": "sigmahq", "type": "rule"},
        {"retired": "true"},
        {"verified": "false", "service": "security"},
    ],
)
def test_rule_filters_match_the_shared_filterset(client, corpus, params):
    ids = all_ids(client, **params)
    assert len(ids) == len(set(ids)), "a page overlaps another"
    assert set(ids) == filterset_ids(**params)


def test_rule_filters_mean_what_they_say(client, corpus):
    assert {i["status"] for i in all_ids_items(client, status="stable")} == {"stable"}
    assert {i["level"] for i in all_ids_items(client, level="critical")} == {"critical"}
    discovery = all_ids_items(client, tactic="discovery")
    assert discovery and all("attack.discovery" in i["tags"] for i in discovery)
    assert REFERENCE_RULE_ID in all_ids(client, technique="T1049")
    # A technique includes its sub-techniques: every rule tagged T1059 or T1059.xxx, none other.
    t1059 = set(all_ids(client, technique="T1059"))
    tagged = {
        str(r.uuid)
        for r in Rule.objects.filter(hidden=False, retired=False)
        if any(t.lower() == "attack.t1059" or t.lower().startswith("attack.t1059.") for t in r.effective_tags)
    }
    assert t1059 == tagged and len(t1059) > len(all_ids(client, technique="T1059.001")) > 0
    assert all("attack.t1059.001" in i["tags"] for i in all_ids_items(client, tag="attack.t1059.001"))
    searched = all_ids_items(client, q="Net.EXE")
    assert REFERENCE_RULE_ID in {i["id"] for i in searched}
    assert all_ids(client, q="no-such-words-anywhere-xyz") == []


@pytest.mark.parametrize("sort", list(SORTS))
def test_rule_sort(client, corpus, sort):
    ranks = {"informational": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
    params = {"product": "windows", "category": "process_creation"}
    ids = all_ids(client, sort=sort, **params)
    assert set(ids) == filterset_ids(**params)
    rules = Rule.objects.in_bulk([uuid.UUID(i) for i in ids], field_name="uuid")
    key = sort.lstrip("-")
    if key == "title":  # by the sort key (lower case, leading punctuation skipped); the database's collation decides
        by_key = sort.replace("title", "sort_title")
        expected = Rule.objects.filter(uuid__in=rules).order_by(by_key, "pk").values_list("uuid", flat=True)
        assert ids == [str(u) for u in expected]
    else:
        ordered = [rules[uuid.UUID(i)] for i in ids]
        values = [ranks[r.effective_level] if key == "level" else getattr(r, key) for r in ordered]
        known = [v for v in values if v is not None]
        assert known == sorted(known, reverse=sort.startswith("-"))
        assert values[: len(known)] == known  # undated rules last both ways, like the HTML list


def test_level_override_is_the_effective_level(client):
    assert CERTUTIL_ID in all_ids(client, level="high")
    Rule.objects.filter(uuid=CERTUTIL_ID).update(level_override="critical")
    bump_version()  # what every write path does (the lists read the rule index of the catalog version)
    assert get(client, "/api/rules/", q="certutil urlcache", level="critical")["results"][0]["level"] == "critical"
    assert CERTUTIL_ID not in all_ids(client, level="high")
    top = get(client, "/api/rules/", sort="-level", category="process_creation", page_size=500)["results"]
    position = [i["id"] for i in top].index(CERTUTIL_ID)
    assert all(i["level"] == "critical" for i in top[: position + 1])
    assert top[position + 1]["level"] == "high"  # the rule's own level ranked below the override


def test_retired_rules_only_when_asked(client):
    assert CERTUTIL_ID in all_ids(client, technique="T1105")
    Rule.objects.filter(uuid=CERTUTIL_ID).update(retired=True)
    bump_version()  # what every write path does (the lists read the rule index of the catalog version)
    assert CERTUTIL_ID not in all_ids(client, technique="T1105")
    assert all_ids(client, retired="true") == [CERTUTIL_ID]
    assert CERTUTIL_ID not in all_ids(client, retired="false", technique="T1105")
    assert get(client, f"/api/rules/{CERTUTIL_ID}/")["retired"] is True


def test_hidden_rules_appear_nowhere(client):
    shared = Indicator.objects.get(field="Image", kind="ends_with", value="\\powershell.exe")  # another rule has it
    places = [f"/api/indicators/{shared.pk}/", "/api/attack/T1059.001/", "/api/events/Sysmon/1/"]
    assert all(CRADLE_ID in {r["id"] for r in get(client, url)["rule_list"]} for url in places)
    listed = get(client, "/api/rules/")["count"]
    set_visibility(Rule.objects.filter(uuid=CRADLE_ID), hidden=True)  # as the admin does: counts follow
    get(client, f"/api/rules/{CRADLE_ID}/", 404)
    for params in ({"technique": "T1059.001"}, {"retired": "true"}, {"q": "cradle"}):
        assert CRADLE_ID not in all_ids(client, **params)
    assert get(client, "/api/rules/")["count"] == listed - 1
    for url in places:
        assert CRADLE_ID not in {r["id"] for r in get(client, url)["rule_list"]}, url
    technique = get(client, "/api/attack/T1059.001/")
    assert technique["rules"] == len(technique["rule_list"])


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/api/rules/", {"level": "bogus"}),
        ("/api/rules/", {"status": "nope"}),
        ("/api/rules/", {"sort": "sideways"}),
        ("/api/rules/", {"type": "spell"}),
        ("/api/indicators/", {"kind": "fuzzy"}),
        ("/api/indicators/", {"min_count": "many"}),
        ("/api/attack/", {"covered": "maybe"}),
        ("/api/attack/", {"known": "perhaps"}),
        ("/api/events/", {"covered": "2"}),
    ],
)
def test_bad_filter_values_are_400_with_the_form_errors(client, url, params):
    errors = get(client, url, 400, **params)
    assert list(errors) == list(params)
    assert isinstance(errors[next(iter(params))], list)


@pytest.mark.parametrize(
    "url",
    [
        f"/api/rules/{uuid.UUID(int=1)}/",
        "/api/rules/not-a-uuid/",
        "/api/indicators/999999999/",
        "/api/indicators/abc/",
        "/api/attack/T9999/",
        "/api/events/Sysmon/99999/",
        "/api/events/Sysmon/abc/",
        "/api/events/NoSuchProvider/any/",
        "/api/fields/NoSuchField/",
        "/api/rules/?page=9999",
    ],
)
def test_unknown_ids_are_404(client, url):
    assert client.get(url).status_code == 404


# --- indicators ------------------------------------------------------------------------------


def test_indicator_list_and_filters(client, corpus):
    page = get(client, "/api/indicators/")
    assert page["count"] == Indicator.objects.count()
    counts = [i["corpus_count"] for i in page["results"]]
    assert counts == sorted(counts, reverse=True)
    found = get(client, "/api/indicators/", field="Image", kind="ends_with", value="\\NET.exe")["results"]
    net_exe = next(i for i in found if i["value"] == "\\net.exe")
    assert set(net_exe) == {
        *("id", "field", "kind", "value", "transforms", "cased"),
        *("polarity", "corpus_count", "exclude_count", "url"),
    }
    assert (net_exe["transforms"], net_exe["cased"]) == ("", False)
    assert net_exe["corpus_count"] + net_exe["exclude_count"] - net_exe_both() == len(net_exe_rule_ids())
    excluded = get(client, "/api/indicators/", polarity="excludes", page_size=50)["results"]
    assert excluded and all(i["exclude_count"] > 0 for i in excluded)
    assert [i["exclude_count"] for i in excluded] == sorted((i["exclude_count"] for i in excluded), reverse=True)
    looked_for = get(client, "/api/indicators/", polarity="looks_for", page_size=50)["results"]
    assert all(i["corpus_count"] > 0 for i in looked_for)
    assert all(i["polarity"] == "both" for i in get(client, "/api/indicators/", polarity="both")["results"])
    assert all(
        i["corpus_count"] >= 100 for i in get(client, "/api/indicators/", min_count=100, page_size=500)["results"]
    )

    detail = get(client, net_exe["url"])
    assert {r["id"] for r in detail["rule_list"]} == net_exe_rule_ids()
    reference = next(r for r in detail["rule_list"] if r["id"] == REFERENCE_RULE_ID)
    assert reference == {
        "id": REFERENCE_RULE_ID,
        "title": "System Network Connections Discovery Via Net.EXE",
        "level": "low",
        "url": f"http://testserver/rules/{REFERENCE_RULE_ID}/",
        "api_url": f"http://testserver/api/rules/{REFERENCE_RULE_ID}/",
        "written": "\\net.exe",
        "polarity": "looks_for",
    }
    assert sum(r["polarity"] != "looks_for" for r in detail["rule_list"]) == net_exe["exclude_count"]
    assert sum(r["polarity"] != "excludes" for r in detail["rule_list"]) == net_exe["corpus_count"]


def test_indicator_query_counts(client, corpus, django_assert_num_queries):
    common = Indicator.objects.order_by("-corpus_count").first()
    rare = Indicator.objects.filter(corpus_count=1).first()
    for indicator in (common, rare):
        with django_assert_num_queries(2 + THROTTLE_QUERIES):  # indicator + its rules
            client.get(f"/api/indicators/{indicator.pk}/")
    for page in (1, 5):
        with django_assert_num_queries(2 + THROTTLE_QUERIES):
            client.get("/api/indicators/", {"page": page, "field": "CommandLine"})


# --- fields ----------------------------------------------------------------------------------


def test_fields(client, corpus, django_assert_num_queries):
    with django_assert_num_queries(2 + THROTTLE_QUERIES):
        fields = get(client, "/api/fields/", page_size=500)
    image = next(f for f in fields["results"] if f["field"] == "Image")
    live = RuleIndicator.objects.filter(indicator__field="Image", rule__hidden=False, rule__retired=False)
    assert image["rules"] == live.values("rule").distinct().count()
    assert image["indicators"] == live.values("indicator").distinct().count()
    assert fields["results"][0]["field"] == "Image"  # the most used field of SigmaHQ
    assert {f["field"] for f in get(client, "/api/fields/", q="commandl")["results"]} >= {
        "CommandLine",
        "ParentCommandLine",
    }

    # Keyword detections have no field: listed as "", addressed as -keywords- (as on /fields/).
    keywords = next(f for f in fields["results"] if f["field"] == "")
    assert keywords["url"].endswith("/api/fields/-keywords-/")
    keyword_detail = get(client, keywords["url"])
    assert keyword_detail["rules"] == keywords["rules"] > 0
    assert keyword_detail["indicators_url"].endswith("/api/indicators/?kind=keyword")
    assert get(client, keyword_detail["indicators_url"])["count"] == Indicator.objects.filter(field="").count()

    with django_assert_num_queries(2 + THROTTLE_QUERIES):
        detail = get(client, image["url"])
    assert detail["rules"] == image["rules"]
    assert sum(ls["rules"] for ls in detail["logsources"]) == image["rules"]  # one logsource per rule
    assert detail["logsources"][0] == {
        "product": "windows",
        "category": "process_creation",
        "service": "",
        "rules": detail["logsources"][0]["rules"],
    }
    assert detail["indicators_url"].endswith("/api/indicators/?field=Image")

    # Restricted to one log source, like /fields/?product=...: the counts are that log source's row.
    process_creation = get(client, "/api/fields/", product="windows", category="process_creation", page_size=500)[
        "results"
    ]
    image_there = next(f for f in process_creation if f["field"] == "Image")
    assert image_there["rules"] == next(
        ls["rules"] for ls in detail["logsources"] if (ls["product"], ls["category"]) == ("windows", "process_creation")
    )


# --- ATT&CK and events -----------------------------------------------------------------------


def test_attack_coverage(client, corpus, django_assert_num_queries):
    for page in (1, 4):
        with django_assert_num_queries(3 + THROTTLE_QUERIES):  # count + page + tactics
            client.get("/api/attack/", {"page": page})
    everything = get(client, "/api/attack/", page_size=500)
    assert everything["count"] == Technique.objects.count() >= 697
    covered = get(client, "/api/attack/", covered="true", page_size=500)
    gaps = get(client, "/api/attack/", covered="false", page_size=500)
    assert covered["count"] + gaps["count"] == everything["count"] and gaps["count"] > 0
    assert all(t["rules"] == 0 for t in gaps["results"]) and all(t["rules"] > 0 for t in covered["results"])
    t1049 = next(t for t in covered["results"] if t["technique_id"] == "T1049")
    assert {k: t1049[k] for k in ("name", "known", "tactics")} == {
        "name": "System Network Connections Discovery",
        "known": True,
        "tactics": ["discovery"],
    }
    discovery = get(client, "/api/attack/", tactic="discovery", page_size=500)["results"]
    assert discovery and all("discovery" in t["tactics"] for t in discovery)

    with django_assert_num_queries(3 + THROTTLE_QUERIES):  # technique + tactics + rules
        detail = get(client, "/api/attack/t1049/")
    assert detail["technique_id"] == "T1049" and detail["rules"] == t1049["rules"] == len(detail["rule_list"])
    assert {r["id"] for r in detail["rule_list"]} == filterset_ids(technique="T1049")
    assert set(all_ids(client, technique="T1049")) == filterset_ids(technique="T1049")
    assert detail["rules_url"].endswith("/api/rules/?technique=T1049")

    t1059 = get(client, "/api/attack/T1059/")
    with_subs = filterset_ids(technique="T1059")  # the rule filter includes sub-techniques
    assert t1059["rules_with_subtechniques"] == len(with_subs) > t1059["rules"] == len(t1059["rule_list"]) > 0
    assert {r["id"] for r in t1059["rule_list"]} < with_subs
    get(client, "/api/attack/T1059.001/")  # sub-technique ids route too


def test_tactics(client, corpus, django_assert_num_queries):
    with django_assert_num_queries(2 + THROTTLE_QUERIES):
        tactics = get(client, "/api/attack/tactics/")["results"]
    assert [t["shortname"] for t in tactics][:3] == ["reconnaissance", "resource-development", "initial-access"]
    discovery = next(t for t in tactics if t["shortname"] == "discovery")
    assert discovery["rules"] == len(filterset_ids(tactic="discovery"))
    with django_assert_num_queries(3 + THROTTLE_QUERIES):  # tactic + techniques + their tactics
        detail = get(client, discovery["url"])
    assert "T1049" in {t["technique_id"] for t in detail["techniques"]}
    assert all("discovery" in t["tactics"] for t in detail["techniques"])
    get(client, "/api/attack/tactics/no-such-tactic/", 404)


def test_logsources(client, corpus, django_assert_num_queries):
    with django_assert_num_queries(2 + THROTTLE_QUERIES):
        rows = get(client, "/api/logsources/", page_size=500)
    assert sum(r["rules"] for r in rows["results"]) == Rule.objects.filter(hidden=False, retired=False).count()
    windows = next(
        r for r in rows["results"] if (r["product"], r["category"], r["service"]) == ("windows", "process_creation", "")
    )
    assert windows["rules"] == len(filterset_ids(product="windows", category="process_creation", service=""))


def test_event_coverage(client, corpus, django_assert_num_queries):
    with django_assert_num_queries(2 + THROTTLE_QUERIES):
        events = get(client, "/api/events/", page_size=500)
    assert events["count"] == EventType.objects.count()
    sysmon_1 = next(e for e in events["results"] if (e["provider"], e["event_id"]) == ("Sysmon", 1))
    assert sysmon_1["title"] == "Process creation" and sysmon_1["url"].endswith("/api/events/Sysmon/1/")
    with django_assert_num_queries(2 + THROTTLE_QUERIES):  # event + rules
        detail = get(client, sysmon_1["url"])
    assert detail["rules"] == sysmon_1["rules"] == len(detail["rule_list"]) > 1000
    assert REFERENCE_RULE_ID in {r["id"] for r in detail["rule_list"]}
    assert {e["provider"] for e in get(client, "/api/events/", provider="sysmon")["results"]} == {"Sysmon"}

    channel = EventType.objects.filter(event_id__isnull=True, rules__isnull=False).first()
    whole = get(client, f"/api/events/{channel.provider}/any/")
    assert whole["event_id"] is None and whole["rule_list"]


# --- schema ----------------------------------------------------------------------------------


def test_openapi_schema(client):
    schema = get(client, "/api/schema/", format="json")
    assert schema["openapi"].startswith("3.")
    for path in (
        "/api/rules/",
        "/api/rules/{uuid}/",
        "/api/indicators/",
        "/api/indicators/{id}/",
        "/api/fields/",
        "/api/fields/{name}/",
        "/api/attack/",
        "/api/attack/{technique_id}/",
        "/api/events/",
        "/api/events/{provider}/{event_id}/",
    ):
        assert path in schema["paths"], path
    parameters = {p["name"] for p in schema["paths"]["/api/rules/"]["get"]["parameters"]}
    assert parameters >= set(RuleFilterSet.base_filters) | {"page", "page_size"}
    # The documented detail shape is the real one.
    documented = set(schema["components"]["schemas"]["RuleDetail"]["properties"])
    assert documented == set(get(client, f"/api/rules/{CERTUTIL_ID}/"))
