"""An event's timestamp as logged -> seconds since the epoch (UTC), for windows and ordering.

Read: ISO 8601 with or without a zone (EVTX's `2023-05-01T10:00:00.123456Z`, ECS `@timestamp`, `2023-05-01
10:00:00.123`; a time without a zone is taken as UTC, which is what EVTX and the SIEM exports write), more than
six fractional digits cut to six, and epoch numbers (seconds; milliseconds when past the year 5138). Anything
else is None: the event is not correlated, and counted.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

FRACTION = re.compile(r"(\.\d{6})\d+")
MILLISECONDS_FROM = 1e11  # an epoch number this large is milliseconds (1e11 s is the year 5138)


def parse_timestamp(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return _epoch(float(value))
    text = str(value).strip().removesuffix(" UTC")
    if not text:
        return None
    try:
        return _epoch(float(text))
    except ValueError:
        pass
    text = FRACTION.sub(r"\1", text.replace(" ", "T", 1) if "T" not in text else text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _epoch(number: float) -> float | None:
    if number != number or number in (float("inf"), float("-inf")):
        return None
    return number / 1000.0 if abs(number) >= MILLISECONDS_FROM else number


def shown(seconds: float) -> str:
    """A window bound as ISO 8601 UTC."""
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")
