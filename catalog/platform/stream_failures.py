"""Streamed downloads that fail midway end visibly broken, never as a file that looks whole.

Once a streamed response has sent its 200 and its first bytes, an error can no longer become a 500:
before, the stream just stopped, and the client kept a truncated CSV, NDJSON or JSON file that may
still parse (a CSV cut between rows, an NDJSON file cut between lines). `guarded` catches the error,
logs it with the request's path, and ends the body with a marker its format cannot read:
- JSON (one document): text after the cut, so the document cannot parse;
- NDJSON, .conf and text files: a line that is neither JSON nor `key = value` nor a comment;
- CSV: a quoted field that never closes, which strict CSV readers reject ("EOF inside string").
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

logger = logging.getLogger("catalog.exports")

NOTICE = "EXPORT FAILED: this file is incomplete, do not import it"
MARKERS = {
    "json": f"\n!!! {NOTICE} !!!\n",
    "lines": f"\n!!! {NOTICE} !!!\n",
    "csv": f'\n"!!! {NOTICE} !!!\n',
}


def guarded(pieces: Iterable[str], kind: str, what: str) -> Iterator[str]:
    """`pieces` as they come; on an error, the format's failure marker as the last piece (and a log line)."""
    marker = MARKERS[kind]
    try:
        yield from pieces
    except Exception:
        logger.exception("Streamed export %s failed midway; the client was sent a marked, incomplete file", what)
        yield marker
