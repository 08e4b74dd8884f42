"""Sigma correlation rules evaluated over a stream of events: pure Python, no Django.

Interface (what a caller feeds, after base-rule matching):

    evaluator = Evaluator(specs, base_rules, reorder_seconds=5.0)
    for each event, in timestamp order give or take `reorder_seconds`:
        evaluator.feed(Observation(timestamp, number, hits, time_text, file))
    evaluator.finish()            # closes every open window
    evaluator.summary()           # plain JSON: results, undecidable correlations, counts of events left out

- `specs`: CorrelationSpec objects, from a correlation rule's stored section (spec.parse_correlation) or a
  legacy pipe aggregation (legacy.legacy_spec); a spec that cannot be read raises SpecError, which the caller
  lists as undecidable.
- `base_rules`: reference (a rule's id or name, lowercase) -> the key its hits are fed under. A correlation
  naming something that is neither a base rule nor another correlation is undecidable (`summary()` says why),
  as is a cycle of correlations. Correlations naming correlations (chaining) are evaluated: the inner
  correlation's fires are the outer one's entries, grouped by the outer group-by fields (aliases apply).
- `Observation.hits`: BaseHit(rule key, values, shown) for each base rule that fired on the event; `values`
  holds the event's values of the fields `evaluator.needs(rule key)` names (group-by fields, aliases resolved,
  and the condition field), and `shown` what a result shows of the hit (its explanation, or a zero-argument
  callable computing it: called only for the events a result shows, at most `shown_events` per result).
  Only hits of `evaluator.base_keys` matter; events without them may be fed to move time on.
- Several processes: each matches its share of the events and yields Observations (values extracted, `shown`
  computed or None: callables do not cross processes); the parent merges the streams by timestamp (heapq.merge)
  and feeds them to one evaluator. Memory is the evaluator's, bounded as below, not the files'.

Time and memory: `timestamp` is seconds since the epoch (timestamps.parse_timestamp). Events wait in a reorder
buffer until an event `reorder_seconds` later has been fed, and are then taken in time order: events out of
order by less than that are correlated as if in order; an event that comes later than that is not correlated
and is counted (`late_events`), as is an event with hits but no readable timestamp (`untimed_events`).
Memory holds the reorder buffer and, per correlation and group-by key, the entries within the timespan of the
window's oldest one: a window is dropped as soon as time passes it, so it is bounded by the open windows.
An entry keeps the event's number, time, rule keys and the one value its condition reads, not the event.

Semantics (the choices the specification leaves open, nodes.py implements them):
- A window is sliding: every entry opens one spanning `timespan`. Counting conditions with lower bounds only
  fire on the entry that meets them; the fire then takes in the rest of its window (one result per burst).
  Other conditions (upper bounds, sums, averages, percentiles) are decided once a window is whole, over
  consecutive windows (the first entry of a group opens one; the next entry after it closes opens the next).
  A fire consumes the events it names.
- Group-by on a field an event lacks (or holds empty): the event is not counted for that correlation (as
  SIEM queries grouping `by` a field drop such events), counted in `not_grouped`. A metric type's field that
  is missing or not a number: the same.
- `generate`: reported with each result; it concerns conversion, and base rules' own hits are listed by the
  caller as usual.
- value_percentile: see spec.py (`percentile:` key, or the specification's share-of-a-value reading).
- temporal_ordered: the rules must hit distinct events in the order of `rules` (equal timestamps: in file
  order); the measure is how many of them did, from the first.
"""

from .evaluator import BaseHit, Evaluator, Observation, Undecidable
from .legacy import legacy_spec, selection_key
from .spec import CorrelationSpec, SpecError, parse_correlation
from .timestamps import parse_timestamp

__all__ = [
    "BaseHit",
    "CorrelationSpec",
    "Evaluator",
    "Observation",
    "SpecError",
    "Undecidable",
    "legacy_spec",
    "parse_correlation",
    "parse_timestamp",
    "selection_key",
]
