"""Issue 13 (speed): the literal index never changes what matches.

`match_events` picks candidate rules with an index of required literals (catalog.core.sigma.index) and
reads plain strings with str operations; the reference (`indexed=False`) is today's evaluator: every
rule of the event's log source, every string through RE2. They must agree on every regression
event and on perturbed copies of them (case, non-ASCII case variants, no channel, other values).
"""

import random
from collections import defaultdict

import pytest
import re2
import yaml

from catalog.core.sigma.index import LiteralIndex
from catalog.core.sigma.logged_events import flatten_event, load_events
from catalog.core.sigma.requirements import ALWAYS, compiled_need, resolve
from tests.matching.test_evaluate import REGRESSION, compiled_from_parse
from tests.sigma_helpers import parse_one


def regression_events() -> list[tuple[list[str], dict]]:
    """(rule ids the event must fire, flat event) for every event file of regression_data."""
    cases = []
    for info in sorted(REGRESSION.rglob("info.yml")):
        ids = [rule["id"] for rule in yaml.safe_load(info.read_text(encoding="utf-8")).get("rule_metadata", [])]
        for path in sorted(info.parent.glob("*.json")):
            cases.extend((ids, flatten_event(e)) for e in load_events(path.read_text(encoding="utf-8")))
    return cases


# Non-ASCII letters RE2 folds onto ASCII ones: KELVIN SIGN ~ k, LATIN SMALL LETTER LONG S ~ s.
TRICKY = str.maketrans({"k": "\u212a", "s": "\u017f", "K": "\u212a", "S": "\u017f"})


def perturbed(events: list[dict]) -> list[dict]:
    """Copies that exercise the index and the plain-string path differently from the originals."""
    rng = random.Random(13)
    out = []
    command_lines = [e["CommandLine"] for e in events if isinstance(e.get("CommandLine"), str)]
    for event in events:
        strings = {k: v for k, v in event.items() if isinstance(v, str)}
        out.append({**event, **{k: v.upper() for k, v in strings.items()}})
        out.append({**event, **{k: v.translate(TRICKY) for k, v in strings.items()}})
        out.append({k: v for k, v in event.items() if k not in ("Channel", "Provider_Name")})
        if "CommandLine" in event:
            out.append({**event, "CommandLine": rng.choice(command_lines) + " " + rng.choice(command_lines)})
    return out


def rule_lists(results) -> list[list[str]]:
    return [[str(rule.uuid) for rule in result.rules] for result in results]


@pytest.mark.long
@pytest.mark.django_db
def test_indexed_matching_equals_todays_evaluator_on_every_regression_event(corpus, corpus_dir, corpus_matcher):
    from catalog.matching.engine import match_events

    cases = regression_events()
    events = [event for _, event in cases]
    indexed = match_events(events, None)
    assert rule_lists(indexed) == rule_lists(match_events(events, None, indexed=False))
    # ... and every regression case (164: a few events share their rule, one rule has two events) fires its rule
    fired = defaultdict(bool)
    for (ids, _), result in zip(cases, indexed, strict=True):
        for rule_id in ids:
            fired[rule_id] |= rule_id in {str(rule.uuid) for rule in result.rules}
    assert len(fired) >= 150 and all(fired.values()), [r for r, ok in fired.items() if not ok]
    assert all(result.source.product == "windows" for result in indexed if result.rules)


@pytest.mark.long
@pytest.mark.one_database  # two evaluators compared in Python; the regression events above run on both databases
@pytest.mark.django_db
def test_indexed_matching_equals_todays_evaluator_on_perturbed_events(corpus, corpus_dir, corpus_matcher):
    from catalog.matching.engine import match_events

    events = perturbed([event for _, event in regression_events()])
    indexed, reference = match_events(events, None), match_events(events, None, indexed=False)
    assert rule_lists(indexed) == rule_lists(reference)
    assert sum(map(len, rule_lists(indexed))) > 100  # the perturbed events still fire rules to compare


def test_casefolding_admits_every_character_re2_matches_case_insensitively():
    """The index compares case-folded text; RE2 folds by Unicode simple case folding. For each class of
    characters with one case folding, RE2's case-insensitive match finds exactly its members among all
    cased characters: so a literal RE2 finds is also found case-folded (requirements' docstring)."""
    cased = [
        chr(c)
        for c in range(0x110000)
        if not 0xD800 <= c <= 0xDFFF and (chr(c).lower(), chr(c).upper(), chr(c).casefold()) != (chr(c),) * 3
    ]
    classes = defaultdict(list)
    for char in cased:
        classes[char.casefold()].append(char)
    text = "".join(cased)
    wrong = [
        members
        for members in classes.values()
        if len(re2.compile("(?i)[" + "".join(map(re2.escape, members)) + "]").findall(text)) != len(members)
    ]
    assert len(classes) > 1000 and wrong == []


def requirement(detection: str):
    return resolve([compiled_need(compiled_from_parse(parse_one(detection)))])[0]


@pytest.mark.parametrize(
    "detection, atoms",
    [
        ("sel:\n  Image|endswith: '\\NET.exe'\ncondition: sel", [{("sub", "image", "\\net.exe")}]),
        ("sel:\n  User: 'SYSTEM'\ncondition: sel", [{("eq", "user", "system")}]),
        ("sel:\n  EventID: 4688\ncondition: sel", [{("num", "eventid", 4688.0)}]),
        ("sel:\n  A: 'ab*cdef*g'\ncondition: sel", [{("sub", "a", "cdef")}]),
        ("keywords:\n  - 'Mimikatz'\ncondition: keywords", [{("sub", None, "mimikatz")}]),
        # each literal run of a regex is needed (up to three sets are kept)
        (
            "sel:\n  A|re: 'ping\\s+-n.{6}echo EEEE'\ncondition: sel",
            [{("sub", "a", "ping")}, {("sub", "a", "-n")}, {("sub", "a", "echo eeee")}],
        ),
        (
            "sel:\n  A|re: '(foo|bar)+x'\ncondition: sel",
            [{("sub", "a", "foo"), ("sub", "a", "bar")}, {("sub", "a", "x")}],
        ),
        # both selections are needed: one set from each, all sets needed by the index
        (
            "a:\n  A: 'xyz1'\nb:\n  B|contains: 'qwerty2'\ncondition: a and b",
            [{("eq", "a", "xyz1")}, {("sub", "b", "qwerty2")}],
        ),
        # either selection: one set holding both
        ("a:\n  A: 'x1'\nb:\n  B: 'y2'\ncondition: a or b", [{("eq", "a", "x1"), ("eq", "b", "y2")}]),
        # a filter requires nothing
        ("sel:\n  A: 'x1'\nf:\n  B: 'y2'\ncondition: sel and not f", [{("eq", "a", "x1")}]),
    ],
)
def test_required_literals(detection, atoms):
    assert sorted(map(sorted, requirement(detection))) == sorted(map(sorted, atoms))


@pytest.mark.parametrize(
    "detection",
    [
        "sel:\n  A: 'x'\ncondition: not sel",  # negation only
        "sel:\n  A|re: '\\d+'\ncondition: sel",  # a regex without literals
        "sel:\n  Ip|cidr: '10.0.0.0/8'\ncondition: sel",
        "sel:\n  N|gt: 5\ncondition: sel",
        "sel:\n  A: '*'\ncondition: sel",
        "sel:\n  A|fieldref: B\ncondition: sel",
        "sel:\n  A: x\nother:\n  B|exists: true\ncondition: sel or other",  # one branch requires nothing
    ],
)
def test_rules_without_required_literals_are_always_candidates(detection):
    assert requirement(detection) is ALWAYS


def test_the_index_finds_literals_case_folded_in_the_right_field():
    index = LiteralIndex(
        {
            0: (frozenset({("sub", "commandline", "mimikatz")}),),
            1: (frozenset({("eq", "user", "system")}), frozenset({("sub", "image", "\\cmd.exe")})),
            2: (frozenset({("num", "eventid", 4688.0)}),),
            3: (frozenset({("sub", None, "evil")}),),
            4: ALWAYS,
        }
    )
    assert index.always == (4,)
    assert index.hits({"CommandLine": "run MIMIKATZ now"}) == {0}
    assert index.hits({"Image": "mimikatz.exe"}) == set()  # another field
    assert index.hits({"USER": "System", "Image": "C:\\CMD.EXE"}) == {1}
    assert index.hits({"User": "System"}) == set()  # rule 1 needs both of its sets
    assert index.hits({"EventID": "4688"}) == {2} and index.hits({"EventID": 4688.0}) == {2}
    assert index.hits({"Anything": "so \u0435vil"}) == set() and index.hits({"X": 1, "Y": "an EVIL one"}) == {3}
    assert index.hits({"CommandLine": "mimi\u212aatz"}) == {0}  # KELVIN SIGN folds to k, as RE2 folds it
