"""A declared profile next to the one a sample of logs shows: "you said you collect Sysmon 3; the sample has none".

`compare()` lists, for /coverage/compare/ and the sample upload's page (catalog.coverage.sample_views):

* the events and log sources declared that the sample holds none of (a declared whole channel,
  ``sysmon:*``, is in the sample when any event of that service is);
* the events and log sources the sample holds that the declared profile does not collect;
* the fields each sample event never fills (catalog.coverage.inferred), first those of events declared too;
* what each profile runs (rules per class), and the rules the declared profile runs fully that the
  sample's does not: what the declaration promises and the logs do not deliver.

A log source of the sample has unknown parts where the events could not tell them (a process
creation without a path: any product); a part unknown on either side counts as the same.
"""

from __future__ import annotations

from catalog.core.taxonomy import event_title
from catalog.coverage.profile import Profile, event_token, logsource_token
from catalog.coverage.runnable import RUNNABLE, profile_coverage


def _event_row(provider: str, event_id: int | None) -> dict:
    token = event_token(provider, event_id)
    return {"token": token, "title": event_title(provider, event_id) if event_id is not None else "every event"}


def _loosely(pattern, key) -> bool:
    return all(want is None or have is None or want == have for want, have in zip(pattern, key, strict=True))


def _order(event):
    return event[0], event[1] if event[1] is not None else -1


def compare(declared: Profile, sample: Profile) -> dict:
    in_sample = sample.events
    providers = {provider for provider, _ in in_sample}
    absent = [
        _event_row(provider, event_id)
        for provider, event_id in sorted(declared.events, key=_order)
        if ((provider, event_id) not in in_sample) and not (event_id is None and provider in providers)
    ]
    undeclared = [
        _event_row(provider, event_id)
        for provider, event_id in sorted(in_sample, key=_order)
        if not declared.collects_event(provider, event_id)
    ]
    declared_sources = [
        logsource_token(*pattern)
        for pattern in declared.logsources
        if not any(_loosely(pattern, key) for key in sample.logsources)
    ]
    sample_undeclared = [
        logsource_token(*key)
        for key in sample.logsources
        if not any(_loosely(pattern, key) for pattern in declared.logsources)
    ]
    never = {}
    for provider, event_id, field in sorted(sample.unfilled):
        never.setdefault((provider, event_id), []).append(field)
    never_filled = sorted(
        (
            {**_event_row(*event), "fields": fields, "declared": declared.collects_event(*event)}
            for event, fields in sorted(never.items())
        ),
        key=lambda row: not row["declared"],  # stable: events declared too first, each group in event order
    )
    mine, theirs = profile_coverage(declared), profile_coverage(sample)
    status = {signature.pk: signature.status for signature in theirs.signatures}
    lost = [s for s in mine.signatures if s.status == RUNNABLE and status.get(s.pk) != RUNNABLE]
    return {
        "declared_absent": absent,
        "sample_undeclared": undeclared,
        "logsources_absent": declared_sources,
        "logsources_undeclared": sample_undeclared,
        "never_filled": never_filled,
        "counts": {"declared": mine.counts, "sample": theirs.counts},
        "runnable_only_declared": sum(s.rule_count for s in lost),
        "lost_logsources": _by_logsource(lost),
    }


def _by_logsource(signatures) -> list[dict]:
    """The rules the declaration runs and the sample does not, by log source, most first."""
    rules: dict[str, int] = {}
    for signature in signatures:
        rules[signature.logsource] = rules.get(signature.logsource, 0) + signature.rule_count
    return [{"logsource": key, "rules": n} for key, n in sorted(rules.items(), key=lambda item: (-item[1], item[0]))]
