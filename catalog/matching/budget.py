"""How many explanations one answer may carry: a count and a size, and what was left out.

An explanation repeats the event value beside each predicate (up to 4,000 characters each), so a 1 MB
/api/match/ request whose events fire many rules came back as 48 MB, and the worker stayed at 600+ MB.
Every answer that explains hits (/api/match/, /match/, a match job's results) takes its explanations
from one budget: at most CATALOG_MATCH_MAX_EXPLANATIONS of them and CATALOG_MATCH_MAX_EXPLANATION_BYTES
of them as JSON. Once one does not fit, no more are computed (which bounds the work as well as the
answer), and the answer says so: `truncated: true` and how many were left out.
"""

from __future__ import annotations

import json

from django.conf import settings

UNLIMITED = 1 << 62


class ExplanationBudget:
    def __init__(self, max_count: int | None = None, max_bytes: int | None = None):
        self.max_count = settings.CATALOG_MATCH_MAX_EXPLANATIONS if max_count is None else max_count
        self.max_bytes = settings.CATALOG_MATCH_MAX_EXPLANATION_BYTES if max_bytes is None else max_bytes
        self.count = self.bytes = self.left_out = 0
        self.spent = False  # once an explanation did not fit, none is computed any more

    @classmethod
    def unlimited(cls) -> ExplanationBudget:
        """For trusted local use (manage.py match_event): everything is explained."""
        return cls(max_count=UNLIMITED, max_bytes=UNLIMITED)

    @property
    def room(self) -> bool:
        """Whether another explanation may still be computed."""
        return not self.spent and self.count < self.max_count

    def admit(self, *parts) -> bool:
        """Count `parts` (an explanation, and the event shown with it) as one explanation if they fit;
        else spend the budget. The caller counts what it leaves out (`leave_out`)."""
        if not self.room:
            return False
        if self.max_bytes >= UNLIMITED:  # a scan's: nothing to weigh (encoding each one was 8% of a scan's CPU)
            self.count += 1
            return True
        size = sum(len(json.dumps(part, ensure_ascii=False, default=str).encode()) for part in parts)
        if self.bytes + size > self.max_bytes:
            self.spent = True
            return False
        self.count += 1
        self.bytes += size
        return True

    def leave_out(self, how_many: int = 1) -> None:
        self.left_out += how_many

    @property
    def truncated(self) -> bool:
        return self.left_out > 0

    def summary(self) -> dict:
        """What an answer says about its explanations (merged into the answer's JSON)."""
        return {
            "truncated": self.truncated,
            "explanations": self.count,
            "explanations_left_out": self.left_out,
            "explanation_limits": {"count": self.max_count, "bytes": self.max_bytes},
        }

    def note(self) -> str:
        """'' when nothing was left out, else a sentence for people."""
        if not self.truncated:
            return ""
        return (
            f"{self.left_out} explanation{'s' if self.left_out != 1 else ''} left out: an answer carries at most "
            f"{self.max_count} explanations and {self.max_bytes:,} bytes of them (CATALOG_MATCH_MAX_EXPLANATIONS, "
            f"CATALOG_MATCH_MAX_EXPLANATION_BYTES). Match fewer events at a time, or ask about one rule with "
            f"\u201cwhy not\u201d, to see them."
        )
