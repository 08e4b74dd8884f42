"""Correlation rules evaluated over event streams (catalog.core.sigma.correlation), no database.

Each example rule of the Sigma correlation specification (2.0.2, and the metric types of 2.1) is copied below
as written there; events are crafted to fire it, and a near miss (threshold missed by one, an event just
outside the timespan, the wrong order) must not.
"""

import random

import pytest
import yaml

from catalog.core.sigma.correlation import (
    BaseHit,
    Evaluator,
    Observation,
    SpecError,
    legacy_spec,
    parse_correlation,
    parse_timestamp,
    selection_key,
)

T0 = parse_timestamp("2024-05-01T10:00:00Z")

# The specification's examples, as written there (the metric ones from its 2.1 text).
EVENT_COUNT = """
title: Many failed logins
id: 0e95725d-7320-415d-80f7-004da920fc11
correlation:
    type: event_count
    rules:
        - 5638f7c0-ac70-491d-8465-2a65075e0d86
    group-by:
        - ComputerName
    timespan: 1h
    condition:
        gte: 100
"""
VALUE_COUNT = """
title: Failed login
id: 0e95725d-7320-415d-80f7-004da920fc12
correlation:
    type: value_count
    rules:
        - 5638f7c0-ac70-491d-8465-2a65075e0d86
    group-by:
        - ComputerName
        - WorkstationName
    timespan: 1d
    condition:
        field: User
        gte: 100
"""
TEMPORAL = """
correlation:
    type: temporal
    rules:
        - recon_cmd_a
        - recon_cmd_b
        - recon_cmd_c
    group-by:
        - ComputerName
        - User
    timespan: 5m
"""
ALIASES = """
title: internal error then connection
id: 6f9d5f4c-54b3-4a54-9f0b-1f1a8c2b0a11
correlation:
    type: temporal
    rules:
        - internal_error
        - new_network_connection
    group-by:
        - internal_ip
        - remote_ip
    timespan: 10s
    aliases:
        internal_ip:
            internal_error: destination.ip
            new_network_connection: source.ip
        remote_ip:
            internal_error: source.ip
            new_network_connection: destination.ip
"""
FAILED_THEN_SUCCESS = """
title: Correlation - Multiple Failed Logins Followed by Successful Login
id: b180ead8-d58f-40b2-ae54-c8940995b9b6
status: experimental
correlation:
    type: temporal_ordered
    rules:
        - multiple_failed_login
        - successful_login
    group-by:
        - User
    timespan: 10m
level: high
---
title: Multiple failed logons
id: a8418a5a-5fc4-46b5-b23b-6c73beb19d41
name: multiple_failed_login
correlation:
    type: event_count
    rules:
        - failed_login
    group-by:
        - User
    timespan: 10m
    condition:
        gte: 10
---
title: Single failed login
id: 53ba33fd-3a50-4468-a5ef-c583635cfa92
name: failed_login
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID:
            - 529
            - 4625
    condition: selection
---
title: Successful login
id: 4d0a2c83-c62c-4ed4-b475-c7e23a9269b8
name: successful_login
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID:
            - 528
            - 4624
    condition: selection
"""
VALUE_SUM = """
correlation:
    type: value_sum
    rules:
        - website_access
    group-by:
        - SourceIP
        - User
    timespan: 1h
    condition:
        field: bytes_sent
        gt: 1000000
"""
VALUE_AVG = """
correlation:
    type: value_avg
    rules:
        - rule_a_id
    group-by:
        - SourceIP
        - User
    timespan: 24h
    condition:
        field: BytesOut
        gt: 500
"""
VALUE_PERCENTILE = """
correlation:
    type: value_percentile
    rules:
        - process_creation
    group-by:
        - ComputerName
    timespan: 24h
    condition:
        field: image
        lte: 1
"""
FAILED = "5638f7c0-ac70-491d-8465-2a65075e0d86"


def specs(text):
    found = []
    for number, doc in enumerate(yaml.safe_load_all(text)):
        if "correlation" not in doc:
            continue  # a base rule of the example: its hits are crafted below
        key = doc.get("id") or f"example-{number}"
        found.append(parse_correlation(key, doc.get("name", ""), doc.get("title", key), "", doc["correlation"]))
    return found


def run(text, events, reorder=5.0, base=None):
    """events: (seconds after T0, base rule, field values); returns the evaluator, finished."""
    rules = base or {}
    for spec in specs(text):
        rules.update({ref: ref for ref in spec.rules})
    correlations = {spec.key for spec in specs(text)} | {spec.name for spec in specs(text)}
    evaluator = Evaluator(specs(text), {r: k for r, k in rules.items() if r not in correlations}, reorder)
    for number, (offset, rule, values) in enumerate(events, start=1):
        hits = (BaseHit(rule, values, {"rule": rule, "event": number}),) if rule else ()
        evaluator.feed(Observation(T0 + offset, number, hits, f"+{offset}"))
    evaluator.finish()
    return evaluator


def fired(evaluator):
    return [(r["title"], r["value"], [g["value"] for g in r["group"]]) for r in evaluator.results]


@pytest.mark.parametrize(("count", "fires"), [(100, True), (99, False)])
def test_event_count_example(count, fires):
    events = [(i * 30, FAILED, {"ComputerName": "dc1"}) for i in range(count)]  # 100 in 49.5 minutes
    evaluator = run(EVENT_COUNT, events)
    assert fired(evaluator) == ([("Many failed logins", count, ["dc1"])] if fires else [])
    if fires:
        result = evaluator.results[0]
        assert result["event_count"] == 100 and len(result["events"]) == 10 and result["events_left_out"] == 90
        assert result["events"][0]["hits"] == [{"rule": FAILED, "event": 1}]
        assert result["window"] == {"start": "2024-05-01T10:00:00Z", "end": "2024-05-01T10:49:30Z"}


def test_event_count_outside_the_timespan_does_not_count():
    events = [(i * 37, FAILED, {"ComputerName": "dc1"}) for i in range(100)]  # 100 in 61 minutes
    assert fired(run(EVENT_COUNT, events)) == []


def test_a_burst_is_one_result_with_every_event_counted():
    events = [(i, FAILED, {"ComputerName": "dc1"}) for i in range(250)]
    evaluator = run(EVENT_COUNT, events)
    assert fired(evaluator) == [("Many failed logins", 250, ["dc1"])]


@pytest.mark.parametrize(("users", "fires"), [(100, True), (99, False)])
def test_value_count_example(users, fires):
    values = [{"ComputerName": "dc1", "WorkstationName": "ws7", "User": f"user{i % users}"} for i in range(150)]
    evaluator = run(VALUE_COUNT, [(i * 60, FAILED, v) for i, v in enumerate(values)])
    assert fired(evaluator) == ([("Failed login", 100, ["dc1", "ws7"])] if fires else [])


@pytest.mark.parametrize(("last_at", "fires"), [(300, True), (301, False)])
def test_temporal_example(last_at, fires):
    who = {"ComputerName": "pc1", "User": "bob"}
    events = [(0, "recon_cmd_b", who), (100, "recon_cmd_a", who), (last_at, "recon_cmd_c", who)]
    assert bool(run(TEMPORAL, events).results) is fires


def test_temporal_needs_the_same_group():
    events = [
        (0, "recon_cmd_a", {"ComputerName": "pc1", "User": "bob"}),
        (1, "recon_cmd_b", {"ComputerName": "pc1", "User": "bob"}),
        (2, "recon_cmd_c", {"ComputerName": "pc1", "User": "alice"}),
    ]
    assert run(TEMPORAL, events).results == []


@pytest.mark.parametrize(("gap", "swap", "fires"), [(10, False, True), (11, False, False), (5, True, False)])
def test_aliases_example(gap, swap, fires):
    error = {"destination.ip": "10.0.0.5", "source.ip": "203.0.113.9"}
    connection = {"source.ip": "10.0.0.5", "destination.ip": "203.0.113.9"}
    if swap:  # the same addresses in the same fields of both events: no longer the aliased pair
        connection = dict(error)
    events = [(0, "internal_error", error), (gap, "new_network_connection", connection)]
    evaluator = run(ALIASES, events)
    assert bool(evaluator.results) is fires
    if fires:
        assert evaluator.results[0]["group"] == [
            {"field": "internal_ip", "value": "10.0.0.5"},
            {"field": "remote_ip", "value": "203.0.113.9"},
        ]


def failed_then_success(failures, success_at):
    events = [(i * 10, "failed_login", {"User": "admin"}) for i in range(failures)]
    events.append((success_at, "successful_login", {"User": "admin"}))
    return run(FAILED_THEN_SUCCESS, sorted(events, key=lambda e: e[0]))


def test_failed_logins_followed_by_successful_login_example_fires_through_the_chain():
    evaluator = failed_then_success(10, 120)
    titles = [r["title"] for r in evaluator.results]
    assert titles == ["Multiple failed logons", "Correlation - Multiple Failed Logins Followed by Successful Login"]
    outer = evaluator.results[1]
    assert outer["events"][0]["correlation"]["title"] == "Multiple failed logons"
    assert outer["events"][1]["hits"] == [{"rule": "successful_login", "event": 11}]


@pytest.mark.parametrize(("failures", "success_at"), [(9, 120), (10, 30), (10, 700)])
def test_failed_logins_near_misses(failures, success_at):
    """Nine failures; the success before the tenth failure; the success 10 min after the tenth failure."""
    evaluator = failed_then_success(failures, success_at)
    assert "Correlation - Multiple Failed Logins Followed by Successful Login" not in [
        r["title"] for r in evaluator.results
    ]


@pytest.mark.parametrize(("last", "fires"), [(400_001, True), (400_000, False)])
def test_value_sum_example(last, fires):
    who = {"SourceIP": "10.1.1.1", "User": "eve"}
    events = [
        (0, "website_access", {**who, "bytes_sent": "600000"}),
        (3599, "website_access", {**who, "bytes_sent": last}),
    ]
    evaluator = run(VALUE_SUM, events)
    assert fired(evaluator) == ([("example-0", 1_000_001, ["10.1.1.1", "eve"])] if fires else [])


@pytest.mark.parametrize(("second", "fires"), [(502, True), (500, False)])
def test_value_avg_example(second, fires):
    who = {"SourceIP": "10.1.1.1", "User": "eve"}
    events = [(0, "rule_a_id", {**who, "BytesOut": 500}), (60, "rule_a_id", {**who, "BytesOut": second})]
    assert bool(run(VALUE_AVG, events).results) is fires


@pytest.mark.parametrize(("common", "fires"), [(99, True), (98, False)])
def test_value_percentile_example(common, fires):
    """One rare process among 100 (1 %) fires `lte: 1`; among 99 (1.01 %) it does not."""
    events = [(i * 60, "process_creation", {"ComputerName": "pc1", "image": "svchost.exe"}) for i in range(common)]
    events.insert(40, (40 * 60 - 30, "process_creation", {"ComputerName": "pc1", "image": "rare.exe"}))
    evaluator = run(VALUE_PERCENTILE, events)
    assert bool(evaluator.results) is fires
    if fires:
        assert evaluator.results[0]["focus"] == "rare.exe" and evaluator.results[0]["event_count"] == 1


def test_value_percentile_with_a_percentile_key():
    spec = {"type": "value_percentile", "rules": ["r"], "group_by": [], "timespan": "1h"}
    spec["condition"] = {"field": "ms", "percentile": 90, "gte": 900}
    text = yaml.safe_dump({"correlation": spec})
    values = [100] * 8 + [900, 1000]  # p90 (nearest rank: the 9th of 10) is 900
    assert run(text, [(i, "r", {"ms": v}) for i, v in enumerate(values)]).results
    assert not run(text, [(i, "r", {"ms": v}) for i, v in enumerate([100] * 9 + [1000])]).results


@pytest.mark.parametrize(("count", "fires"), [(3, True), (4, False)])
def test_upper_bound_is_decided_when_the_window_closes(count, fires):
    text = EVENT_COUNT.replace("gte: 100", "lt: 4")
    events = [(i, FAILED, {"ComputerName": "dc1"}) for i in range(count)]
    assert [r["value"] for r in run(text, events).results] == ([3] if fires else [])


def test_extended_temporal_condition():
    text = TEMPORAL.replace("timespan: 5m", "timespan: 5m\n    condition: recon_cmd_a and not recon_cmd_c")
    who = {"ComputerName": "pc1", "User": "bob"}
    assert run(text, [(0, "recon_cmd_a", who), (10, "recon_cmd_b", who)]).results
    assert not run(text, [(0, "recon_cmd_a", who), (10, "recon_cmd_c", who)]).results


def test_out_of_order_timestamps_within_the_reorder_lag():
    events = [(i, FAILED, {"ComputerName": "dc1"}) for i in range(100)]
    shuffled = sorted(events, key=lambda e: e[0] + random.Random(7).uniform(0, 0) + (e[0] % 4) * -1.5)
    assert [e[0] for e in shuffled] != [e[0] for e in events]
    ordered, jumbled = run(EVENT_COUNT, events), run(EVENT_COUNT, shuffled, reorder=5)
    assert fired(jumbled) == fired(ordered) == [("Many failed logins", 100, ["dc1"])]
    assert jumbled.late == 0


def test_events_later_than_the_reorder_lag_are_counted_not_correlated():
    events = [(i, FAILED, {"ComputerName": "dc1"}) for i in range(1, 100)] + [(0, FAILED, {"ComputerName": "dc1"})]
    evaluator = run(EVENT_COUNT, events, reorder=5)
    assert evaluator.late == 1 and evaluator.results == []


def test_group_by_on_a_missing_field_leaves_the_event_out():
    events = [(i, FAILED, {"ComputerName": "dc1"}) for i in range(99)] + [(99, FAILED, {"Computer": "dc1"})]
    evaluator = run(EVENT_COUNT, events)
    assert evaluator.results == [] and evaluator.summary()["not_grouped"] == 1


def test_unresolved_and_cyclic_correlations_are_undecidable():
    loop = "\n---\n".join(
        yaml.safe_dump(
            {"id": key, "name": key, "correlation": {"type": "temporal", "rules": [other], "timespan": "1m"}}
        )
        for key, other in (("a", "b"), ("b", "a"))
    )
    evaluator = Evaluator(specs(loop), {})
    assert {u.key for u in evaluator.undecidable} == {"a", "b"} and not evaluator.nodes
    lonely = Evaluator(specs(TEMPORAL), {"recon_cmd_a": "a"})
    assert "names no rule" in lonely.undecidable[0].reason


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"type": "value_count", "rules": ["r"], "timespan": "1h", "condition": {"gte": 2}}, "condition.field"),
        ({"type": "event_count", "rules": ["r"], "timespan": "1 hour", "condition": {"gte": 2}}, "timespan"),
        ({"type": "event_count", "rules": ["r"], "timespan": "1h"}, "needs a condition"),
        ({"type": "value_max", "rules": ["r"], "timespan": "1h", "condition": {"gte": 2}}, "value_max"),
    ],
)
def test_unreadable_correlations_say_why(body, message):
    with pytest.raises(SpecError, match=message):
        parse_correlation("x", "", "x", "", body)


def test_legacy_pipe_aggregations():
    spec = legacy_spec("R1", "t", "high", ["selection | count() by SourceIp > 10"], "1m")
    assert (spec.type, spec.group_by, spec.timespan, spec.rules) == (
        "event_count",
        ("SourceIp",),
        60,
        ("r1:selection",),
    )
    distinct = legacy_spec("R1", "t", "", ["sel and not f | count(TargetUserName) by IpAddress > 10"], "24h")
    assert (distinct.type, distinct.condition.field) == ("value_count", "TargetUserName")
    assert legacy_spec("R1", "t", "", ["selection"], None) is None
    for conditions, timeframe, message in (
        (["selection | near other"], "1m", "near"),
        (["selection | max(x) by y > 3"], "1m", "max"),
        (["selection | count() > 5"], None, "timeframe"),
        (["a | count() > 5", "b"], "1m", "several conditions"),
    ):
        with pytest.raises(SpecError, match=message):
            legacy_spec("R1", "t", "", conditions, timeframe)
    key = selection_key("R1")
    events = [(i, key, {"SourceIp": "1.2.3.4"}) for i in range(11)]
    evaluator = Evaluator([spec], {key: key})
    for number, (offset, rule, values) in enumerate(events, 1):
        evaluator.feed(Observation(T0 + offset, number, (BaseHit(rule, values),)))
    evaluator.finish()
    assert [r["value"] for r in evaluator.results] == [11]


def test_memory_is_the_open_windows():
    """A day of events, one a second, in a 1-minute correlation: never more than a minute of entries held."""
    spec = parse_correlation("c", "", "c", "", yaml.safe_load(EVENT_COUNT)["correlation"] | {"timespan": "1m"})
    evaluator = Evaluator([spec], {FAILED: FAILED}, reorder_seconds=5)
    most = 0
    for second in range(86_400 // 8):
        hit = BaseHit(FAILED, {"ComputerName": f"pc{second % 50}"})
        evaluator.feed(Observation(T0 + second, second, (hit,)))
        if second % 500 == 0:
            node = evaluator.nodes[0]
            most = max(most, sum(len(w) for w in node.groups.values()) + len(node.expiries) // 2)
    assert 0 < most <= 2 * 66


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2024-05-01T10:00:00.1234567Z", T0 + 0.123456),
        ("2024-05-01 10:00:00 UTC", T0),
        ("2024-05-01T12:00:00+02:00", T0),
        (str(int(T0 * 1000)), T0),
        ("yesterday", None),
        ("", None),
    ],
)
def test_timestamps(text, seconds):
    assert parse_timestamp(text) == (pytest.approx(seconds) if seconds else None)
