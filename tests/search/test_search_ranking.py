"""Search that ranks (issue 9 part 2): realistic queries put what the user means first, on both databases.

The corpus tests run against SigmaHQ (the `corpus` fixture); the keeping-in-step tests import small
rule files of their own. Run with DATABASE_URL=postgres://... for the PostgreSQL side.
"""

from urllib.parse import quote

import pytest

from catalog.browse.queries import rules as rule_queries
from catalog.curation.edits import Edit, apply_edit_many
from catalog.importing.importer import import_paths
from catalog.models import Rule, RuleIndicator
from catalog.models.rules import SORT_SKIPPED
from catalog.publishing.visibility import set_visibility


def searched(q: str, **filters) -> list[Rule]:
    """The rule list's result for a query, in the order /rules/ and /api/rules/ show it."""
    return list(rule_queries.filtered_rules(rule_queries.rule_filterset({"q": q, **filters})))


def first_title(q: str) -> str:
    found = searched(q)
    assert found, f"nothing found for {q!r}"
    return found[0].title


def test_exact_title_first(corpus):
    # Several other rules share most of these words ("Potential Credential Dumping ..."): the exact one wins.
    assert first_title("Potential Credential Dumping Via WER") == "Potential Credential Dumping Via WER"
    assert first_title("lsass process memory dump files") == "LSASS Process Memory Dump Files"


def test_rule_id_first(corpus):
    rule = corpus.get(title="Potential Credential Dumping Via WER")
    assert searched(str(rule.uuid))[0] == rule
    assert searched(str(rule.uuid).upper())[0] == rule


@pytest.mark.parametrize("tool", ["psexec", "whoami", "mimikatz"])
def test_tool_name_puts_a_rule_about_the_tool_first(corpus, tool):
    assert tool in first_title(tool).casefold()


def test_whoami_does_not_find_rules_that_only_exclude_ldapwhoami(corpus):
    excluder = "ADSI-Cache File Creation By Uncommon Tool"  # its filter block excludes ...\ldapwhoami.exe
    assert excluder not in [rule.title for rule in searched("whoami")]  # "ldapwhoami" is another token
    assert excluder not in [rule.title for rule in searched("ldapwhoami")]  # excluded values are not searched
    assert "Whoami.EXE Execution Anomaly" in [rule.title for rule in searched("whoami")]


def test_binary_name_first(corpus):
    assert "certutil.exe" in first_title("certutil.exe").casefold()


def test_two_word_intent(corpus):
    found = searched("credential dump")
    assert "credential" in found[0].title.casefold() and "dump" in found[0].title.casefold()
    assert len(found) > 20  # stemming: "dump" finds "dumping", "dumps", "dumper"


def test_technique_id_first_is_tagged_with_it(corpus):
    for technique in ("T1003.001", "t1003.001"):
        first = searched(technique)[0]
        assert first.techniques.filter(technique_id="T1003.001").exists()
    parent = searched("T1003")[0]
    assert parent.techniques.filter(technique_id__startswith="T1003").exists()


def test_net_exe_is_not_dotnet_exe(corpus):
    net = searched("net.exe")
    titles = [rule.title for rule in net]
    assert "net.exe" in titles[0].casefold()
    dotnet = searched("dotnet.exe")
    assert dotnet and not {r.pk for r in dotnet if "dotnet" in r.title.casefold()} & {r.pk for r in net}


def test_path_punctuation_does_not_break_matching(corpus):
    plain = [rule.pk for rule in searched("net.exe")]
    assert plain
    assert [rule.pk for rule in searched("\\net.exe")] == plain
    assert [rule.pk for rule in searched("/net.exe")] == plain


def test_other_sorts_stay_available(corpus):
    by_title = searched("psexec", sort="title")
    # The title sort reads the sort key (lower case, leading punctuation skipped: catalog.models.rules).
    assert [r.title for r in by_title] == sorted(
        (r.title for r in by_title), key=lambda t: t.lstrip(SORT_SKIPPED).lower()
    )
    assert {r.pk for r in by_title} == {r.pk for r in searched("psexec")}


RULE = """title: {title}
id: 6f3c8a52-1b1e-4a55-9f1c-{n:012d}
status: test
description: {description}
tags:
    - attack.execution
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        Image|endswith: '\\{binary}'
    filter:
        CommandLine|contains: '{excluded}'
    condition: selection and not filter
level: high
"""


def write_rule(folder, n, **values):
    defaults = {"title": f"Rule {n}", "description": "", "binary": "calc.exe", "excluded": "ignored-value"}
    (folder / f"rule_{n}.yml").write_text(RULE.format(n=n, **{**defaults, **values}), encoding="utf-8")


@pytest.mark.django_db
def test_documents_kept_in_step_with_import_reimport_curation_and_hide(tmp_path, django_user_model):
    curator = django_user_model.objects.create_user("carol", password="x")
    folder = tmp_path / "rules"
    folder.mkdir()
    write_rule(folder, 1, title="Zanzibar Launcher", binary="zlaunch.exe", excluded="quokkaexclusion")
    write_rule(folder, 2, title="Other Thing", description="mentions nothing")
    assert not import_paths([str(folder)], source="local").errors
    assert [r.title for r in searched("zanzibar")] == ["Zanzibar Launcher"]
    assert [r.title for r in searched("zlaunch.exe")] == ["Zanzibar Launcher"]  # the indicator value
    assert searched("quokkaexclusion") == []  # excluded values are not searched

    write_rule(folder, 1, title="Renamed Launcher", binary="zlaunch.exe")
    assert not import_paths([str(folder)], source="local").errors
    assert searched("zanzibar") == []
    assert [r.title for r in searched("renamed launcher")] == ["Renamed Launcher"]

    other = Rule.objects.get(title="Other Thing")
    assert searched("wombatcuration") == []
    apply_edit_many([other], Edit(add_tags=["wombatcuration"]), user=curator)
    assert [r.title for r in searched("wombatcuration")] == ["Other Thing"]
    apply_edit_many([Rule.objects.get(pk=other.pk)], Edit(remove_tags=["wombatcuration"]), user=curator)
    assert searched("wombatcuration") == []

    set_visibility(Rule.objects.filter(title="Renamed Launcher"), hidden=True)
    assert searched("launcher") == []
    set_visibility(Rule.objects.filter(title="Renamed Launcher"), hidden=False)
    assert [r.title for r in searched("launcher")] == ["Renamed Launcher"]


@pytest.mark.django_db
def test_relevance_is_the_default_order_of_a_search(tmp_path):
    folder = tmp_path / "rules"
    folder.mkdir()
    write_rule(folder, 1, title="Aardvark Activity", description="a note about quasar")
    write_rule(folder, 2, title="Quasar Execution")
    assert not import_paths([str(folder)], source="local").errors
    assert [r.title for r in searched("quasar")] == ["Quasar Execution", "Aardvark Activity"]
    assert [r.title for r in searched("quasar", sort="title")] == ["Aardvark Activity", "Quasar Execution"]


@pytest.mark.django_db
def test_a_rules_name_in_any_case_is_an_exact_answer(tmp_path):
    from catalog.search import ranking

    folder = tmp_path / "rules"
    folder.mkdir()
    write_rule(folder, 1, title="Quasar Launcher Named")
    named = folder / "rule_1.yml"
    named.write_text("name: quasar_launcher\n" + named.read_text(encoding="utf-8"), encoding="utf-8")
    write_rule(folder, 2, title="Quasar Launcher Quasar_Launcher")  # the name in its title, but no name
    assert not import_paths([str(folder)], source="local").errors
    named_rule = Rule.objects.get(name="quasar_launcher")
    assert ranking.exact_ids("QUASAR_LAUNCHER") == {named_rule.pk}  # through the index of the rules with a name
    assert searched("Quasar_Launcher")[0] == named_rule
    assert ranking.exact_ids("") == set()  # the rules without a name are no answer to an empty name


# --- the page and the API around the search -----------------------------------------------------


def test_facet_values_are_ored_on_page_and_api(client, corpus):
    high = set(corpus.filter(level="high", hidden=False, retired=False).values_list("uuid", flat=True))
    critical = set(corpus.filter(level="critical", hidden=False, retired=False).values_list("uuid", flat=True))
    response = client.get("/api/rules/", {"level": ["high", "critical"], "page_size": 500, "q": "lsass"})
    assert response.status_code == 200
    found = {result["id"] for result in response.json()["results"]}
    lsass = {str(r.uuid) for r in searched("lsass")}
    assert found == {str(u) for u in high | critical} & lsass and found
    both = searched("", product=["linux", "macos"])  # free-valued facets OR too
    assert {r.product for r in both} == {"linux", "macos"}
    page = client.get("/rules/", {"q": "lsass", "level": "high"}).content.decode()
    # a facet link adds its value to the ones chosen (OR), it does not replace them
    assert 'href="?q=lsass&amp;level=high&amp;level=critical"' in page


def test_api_refuses_unknown_parameters(client, corpus):
    response = client.get("/api/rules/", {"levle": "high", "q": "psexec"})
    assert response.status_code == 400
    body = response.json()
    assert body["unknown parameters"] == ["levle"]
    assert {"q", "level", "page", "page_size", "sort"} <= set(body["valid parameters"])
    for endpoint in (
        "/api/indicators/",
        "/api/fields/",
        "/api/attack/",
        "/api/attack/tactics/",
        "/api/events/",
        "/api/logsources/",
    ):
        assert client.get(endpoint, {"bogus": "1"}).status_code == 400, endpoint
    changes = client.get("/api/changes/", {"pag": "2"})
    assert changes.status_code == 400 and changes.json()["unknown parameters"] == ["pag"]
    assert client.get("/api/changes/", {"page": "1"}).status_code == 200
    assert client.get("/api/rules/", {"q": "psexec", "level": "high", "page_size": 5}).status_code == 200


def test_direct_answers(client, corpus):
    page = client.get("/rules/", {"q": "T1003.001"}).content.decode()
    n = corpus.live().with_technique("T1003.001").count()
    assert f'<a href="/attack/T1003.001/">Go to T1003.001 OS Credential Dumping: LSASS Memory</a> — {n} rules' in page
    rule = corpus.get(title="Potential Credential Dumping Via WER")
    page = client.get("/rules/", {"q": str(rule.uuid)}).content.decode()
    assert f'<a href="/rules/{rule.uuid}/">Go to Potential Credential Dumping Via WER</a>' in page
    page = client.get("/rules/", {"q": "CommandLine"}).content.decode()
    assert '<a href="/fields/CommandLine/">Go to field CommandLine</a>' in page
    assert "Go to" not in client.get("/rules/", {"q": "psexec"}).content.decode()
    assert "Sorted by relevance" in client.get("/rules/", {"q": "psexec"}).content.decode()
    assert "Sorted by relevance" not in client.get("/rules/", {"q": "psexec", "sort": "title"}).content.decode()


def test_zero_results_suggest_a_near_spelling(client, corpus):
    assert searched("mimikatzz") == []
    page = client.get("/rules/", {"q": "mimikatzz"}).content.decode()
    assert 'Did you mean <a href="?q=mimikatz">mimikatz</a>?' in page
    page = client.get("/rules/", {"q": "certutl"}).content.decode()
    assert 'Did you mean <a href="?q=certutil">certutil</a>?' in page


def test_rules_carrying_any_indicator_of_an_indicator_search(client, corpus):
    search = "field=Image&value=whoami"
    page = client.get(f"/indicators/?{search}").content.decode()
    found = indicators_of(search)
    assert len(found) > 1
    link = f'href="/rules/?indicators={quote(search, safe="")}">Rules carrying any of these {len(found)} indicators</a>'
    assert link in page
    expected = set(
        RuleIndicator.objects.filter(indicator__in=found, rule__hidden=False, rule__retired=False).values_list(
            "rule__uuid", flat=True
        )
    )
    listed = client.get("/api/rules/", {"indicators": search, "page_size": 500}).json()
    assert {r["id"] for r in listed["results"]} == {str(u) for u in expected} and expected
    # filterable like any rule list: with a level, and searched
    high = client.get("/api/rules/", {"indicators": search, "level": "high", "page_size": 500}).json()["results"]
    assert {r["id"] for r in high} == {str(r.uuid) for r in Rule.objects.filter(uuid__in=expected, level="high")}
    assert client.get("/rules/export.csv", {"indicators": search}).status_code == 200
    bad = client.get("/api/rules/", {"indicators": "bogus=1"})
    assert bad.status_code == 400 and "bogus" in bad.content.decode()


def indicators_of(search: str) -> list:
    from django.http import QueryDict

    from catalog.browse.queries.indicators import indicator_filterset, searched_indicators

    return list(searched_indicators(indicator_filterset(QueryDict(search))))


@pytest.mark.django_db
def test_query_syntax_of_either_database_is_plain_text(tmp_path):
    folder = tmp_path / "rules"
    folder.mkdir()
    write_rule(folder, 1, title="Quasar Execution", binary="quasar.exe")
    assert not import_paths([str(folder)], source="local").errors
    # FTS5 and tsquery operators and quotes: all separators, never query syntax or a 500
    for typed in ['"quasar" (exe*', "quasar & !exe | <->", "quasar:* (exe)^ -", "quasar\texe"]:
        assert [r.title for r in searched(typed)] == ["Quasar Execution"], typed
    assert searched("\\.-/") != []  # nothing to look for: the filter is not applied
