"""Polarity and both corpus counts over SigmaHQ, checked against an independent reading of the YAML.

The reading here shares nothing with the app's parser: PyYAML loads each document, a small
recursive-descent reader of its own walks the condition text, and only *plain* values are compared
(strings with no modifier but contains/startswith/endswith, no inner wildcard, no escape), whose
indicator identity is obvious: (field, kind, casefolded value without the outer `*`).
"""

import re
from collections import Counter, defaultdict
from fnmatch import fnmatchcase

import pytest
import yaml

from catalog.models import Indicator, Polarity, Rule, RuleIndicator
from catalog.publishing.visibility import set_visibility
from tests.constants import CORPUS, CORPUS_FOLDERS

LSASS_RULE_ID = "5ef9853e-4d0e-4a70-846f-a9ca37d876da"  # Potential Credential Dumping Activity Via LSASS
ADSI_RULE_ID = "75bf09fa-1dd7-4d18-9af9-dd9e492562eb"  # ADSI-Cache File Creation By Uncommon Tool

LOOKS_FOR, EXCLUDES, BOTH = Polarity.LOOKS_FOR.value, Polarity.EXCLUDES.value, Polarity.BOTH.value
PLAIN_MODIFIERS = {(): None, ("contains",): "match", ("startswith",): "starts_with", ("endswith",): "ends_with"}


# -- an independent condition reader ---------------------------------------------------------------------
TOKEN = re.compile(r"\s*(\(|\)|[^\s()]+)")


def block_parities(condition: str, names: list[str]) -> dict[str, set[bool]]:
    """{block: {negated?}} for one condition: `not` binds to the next term, `X of pattern` names its blocks."""
    condition = condition.split("|")[0]  # legacy aggregation: not part of the boolean condition
    tokens = TOKEN.findall(condition)
    found: dict[str, set[bool]] = defaultdict(set)
    position = 0

    def expression(negated: bool) -> None:
        nonlocal position
        term(negated)
        while position < len(tokens) and tokens[position].lower() in ("and", "or"):
            position += 1
            term(negated)

    def term(negated: bool) -> None:
        nonlocal position
        token = tokens[position]
        position += 1
        if token.lower() == "not":
            term(not negated)
        elif token == "(":
            expression(negated)
            assert tokens[position] == ")", condition
            position += 1
        elif position < len(tokens) and tokens[position].lower() == "of":
            pattern = tokens[position + 1]
            position += 2
            covered = (
                [n for n in names if not n.startswith("_")] if pattern == "them" else fnmatch_names(pattern, names)
            )
            for name in covered:
                found[name].add(negated)
        else:
            found[token].add(negated)

    expression(False)
    assert position == len(tokens), condition
    return found


def fnmatch_names(pattern: str, names: list[str]) -> list[str]:
    plain = pattern.replace("[", "[[]").replace("?", "[?]")  # only `*` is special in Sigma selectors
    return [n for n in names if fnmatchcase(n, plain) and (pattern.startswith("_") or not n.startswith("_"))]


def polarity_of(parities: set[bool]) -> str:
    return {frozenset({True}): EXCLUDES, frozenset({True, False}): BOTH}.get(frozenset(parities), LOOKS_FOR)


def plain_indicator(field: str, modifiers: tuple, value) -> tuple | None:
    """(field, kind, value) of a plain string value, or None when its identity is not obvious."""
    if not isinstance(value, str) or modifiers not in PLAIN_MODIFIERS or "\\\\" in value or "?" in value:
        return None
    if "\\*" in value:
        return None
    kind = PLAIN_MODIFIERS[modifiers]
    core = value
    if kind is None:
        leading, trailing = core.startswith("*"), core.endswith("*")
        core = core.strip("*")
        kind = {(True, True): "match", (True, False): "ends_with", (False, True): "starts_with"}.get(
            (leading, trailing), "eq"
        )
    if not core or "*" in core:
        return None
    return (field, "keyword" if not field else kind, core.casefold())


def block_items(block):
    """(field, modifiers, value) of every value in a block: maps, lists of maps, keyword lists."""
    if isinstance(block, (str, int)):
        block = [block]
    if isinstance(block, list) and all(not isinstance(item, dict) for item in block):
        yield from (("", (), value) for value in block)
        return
    for mapping in block if isinstance(block, list) else [block]:
        if not isinstance(mapping, dict):
            continue
        for key, values in mapping.items():
            field, *modifiers = str(key).split("|")
            for value in values if isinstance(values, list) else [values]:
                yield field, tuple(modifiers), value


def independent_reading() -> dict[str, dict[tuple, str]]:
    """{rule id: {(field, kind, value): polarity}} for every SigmaHQ detection rule, from the YAML alone."""
    rules = {}
    for folder in CORPUS_FOLDERS:
        for path in sorted((CORPUS / folder).rglob("*.y*ml")):
            for doc in yaml.load_all(path.read_bytes(), Loader=yaml.CSafeLoader):
                if not isinstance(doc, dict) or not isinstance(doc.get("detection"), dict) or "id" not in doc:
                    continue
                detection = dict(doc["detection"])
                conditions = detection.pop("condition")
                names = list(detection)
                parities: dict[str, set[bool]] = defaultdict(set)
                for condition in conditions if isinstance(conditions, list) else [conditions]:
                    for name, found in block_parities(condition, names).items():
                        parities[name] |= found
                values: dict[tuple, set[str]] = defaultdict(set)
                mixed = set()  # identities whose value this rule also writes in a non-plain way
                for name, block in detection.items():
                    for field, modifiers, value in block_items(block):
                        key = plain_indicator(field, modifiers, value)
                        if key is None:
                            if isinstance(value, str):
                                mixed.add((field, value.strip("*").casefold()))
                            continue
                        values[key].add(polarity_of(parities.get(name, set())))
                rules[str(doc["id"]).lower()] = {
                    key: (next(iter(found)) if len(found) == 1 else BOTH)
                    for key, found in values.items()
                    if (key[0], key[2]) not in mixed
                }
    return rules


def stored_reading() -> dict[str, dict[tuple, str]]:
    rules: dict[str, dict[tuple, str]] = defaultdict(dict)
    rows = RuleIndicator.objects.filter(rule__source__name="sigmahq", indicator__transforms="", indicator__cased=False)
    for uuid, field, kind, value, polarity in rows.values_list(
        "rule__uuid", "indicator__field", "indicator__kind", "indicator__value", "polarity"
    ):
        rules[str(uuid)][(field, kind, value)] = polarity
    return rules


@pytest.mark.long
def test_polarity_and_counts_agree_with_an_independent_reading(corpus):
    independent, stored = independent_reading(), stored_reading()
    pairs = [(uuid, key, polarity) for uuid, keys in independent.items() for key, polarity in keys.items()]
    agreeing = sum(stored.get(uuid, {}).get(key) == polarity for uuid, key, polarity in pairs)
    disagreeing = [(u, k, p, stored.get(u, {}).get(k)) for u, k, p in pairs if stored.get(u, {}).get(k) != p]
    print(f"\npolarity: {agreeing} of {len(pairs)} plain rule indicators agree; first differences: {disagreeing[:5]}")
    assert len(pairs) > 30_000
    assert Counter(p for _, _, p in pairs)[EXCLUDES] > 3_000  # the issue: ~5,000 excluded values
    assert agreeing / len(pairs) >= 0.999

    looked_for, excluded = Counter(), Counter()
    for keys in independent.values():
        for key, polarity in keys.items():
            looked_for[key] += polarity != EXCLUDES
            excluded[key] += polarity != LOOKS_FOR
    counted = {
        (field, kind, value): (n, x)
        for field, kind, value, n, x in Indicator.objects.filter(transforms="", cased=False).values_list(
            "field", "kind", "value", "corpus_count", "exclude_count"
        )
    }
    # Only values written plainly by every rule carrying them have independent counts.
    carriers = defaultdict(set)  # (field, kind, value) -> the rules the catalog stores it for
    for uuid, keys in stored.items():
        for key in keys:
            carriers[key].add(uuid)
    complete = {key for key in looked_for if _plain_everywhere(key, independent, carriers)}
    same = sum(counted.get(key) == (looked_for[key], excluded[key]) for key in complete)
    print(f"counts: {same} of {len(complete)} plain indicators have both counts right")
    assert len(complete) > 10_000
    assert same / len(complete) >= 0.999


def _plain_everywhere(key, independent, carriers) -> bool:
    return all(key in independent.get(uuid, {}) for uuid in carriers[key])


@pytest.mark.parametrize(
    ("rule_id", "field", "excluded", "looked_for"),
    [
        (LSASS_RULE_ID, "SourceImage", ":\\windows\\sysmon64.exe", "\\lsass.exe"),
        (ADSI_RULE_ID, "Image", "\\landesk\\ldclient\\ldapwhoami.exe", "\\local\\microsoft\\windows\\schcache\\"),
    ],
)
def test_the_issues_examples_exclude_what_their_filters_name(corpus, rule_id, field, excluded, looked_for):
    polarity = dict(RuleIndicator.objects.filter(rule__uuid=rule_id).values_list("indicator__value", "polarity"))
    assert polarity[excluded] == EXCLUDES
    assert polarity[looked_for] == LOOKS_FOR


def test_counts_stay_exact_after_hide_unhide_and_retire(corpus):
    rule = Rule.objects.get(uuid=LSASS_RULE_ID)
    excluded = Indicator.objects.get(field="SourceImage", kind="ends_with", value=":\\windows\\sysmon64.exe")
    looked_for = RuleIndicator.objects.filter(rule=rule, polarity=LOOKS_FOR).first().indicator

    def counts(indicator):
        indicator.refresh_from_db()
        return indicator.corpus_count, indicator.exclude_count

    def expected(indicator):
        live = RuleIndicator.objects.filter(indicator=indicator, rule__hidden=False, rule__retired=False)
        return (
            live.exclude(polarity=EXCLUDES).count(),
            live.exclude(polarity=LOOKS_FOR).count(),
        )

    before = counts(excluded), counts(looked_for)
    assert before == (expected(excluded), expected(looked_for))
    assert before[0][1] >= 1 and before[1][0] >= 1
    single = Rule.objects.filter(pk=rule.pk)
    set_visibility(single, hidden=True)
    assert counts(excluded) == (before[0][0], before[0][1] - 1)
    assert counts(looked_for) == (before[1][0] - 1, before[1][1])
    set_visibility(single, hidden=False)
    assert (counts(excluded), counts(looked_for)) == before
    set_visibility(single, retired=True)
    assert counts(excluded) == (before[0][0], before[0][1] - 1) == expected(excluded)
    set_visibility(single, retired=False)
    assert (counts(excluded), counts(looked_for)) == before
