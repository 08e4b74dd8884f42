"""The one per-version cache of what matching compiles from the stored rules, per process.

Everything matching derives from the catalog's rows is kept here, keyed by the catalog version
(catalog.models.CatalogVersion, bumped by every change): the compiled catalog the matcher runs
(catalog.matching.compiled), the rules compiled one by one for explanations (catalog.matching.explaining:
a rule page's test events explain one rule without compiling the whole catalog), and the regexes RE2
cannot run. A new version drops all of it at once, so no part can be stale while another is fresh.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class KeptForVersion:
    version: int
    catalog: Any = None  # the CompiledCatalog, built on first use
    explained: dict[int, tuple] = field(default_factory=dict)  # rule pk -> (CompiledRule, predicate rows)
    uncompilable: list | None = None  # (rule, reason) of live regexes RE2 refuses


_kept: KeptForVersion | None = None


def for_version(version: int) -> KeptForVersion:
    """What is kept for `version`; a different version starts afresh (the old one is dropped)."""
    global _kept
    if _kept is None or _kept.version != version:
        _kept = KeptForVersion(version)
    return _kept


def forget() -> None:
    """Drop everything: the next match compiles again. For tests, whose rolled-back transactions can give
    the same catalog version number to different contents."""
    global _kept
    _kept = None
