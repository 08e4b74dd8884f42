"""A trusted scan of event files over several processes: a folder or a list of files, split into pieces, matched by
a pool of workers, and the grouped results merged as if one process had read them in order.

- Pieces (`plan`): each file is one piece, except an EVTX file of more than PIECE_CHUNKS chunks when there are
  fewer than two files per process: it is split into ranges of chunks, each read as an EVTX file of its own
  (catalog.core.sigma.evtx_ranges), so one big file keeps every core busy too.
- Workers: the parent loads (or compiles) the catalog before forking them (catalog.matching.stored), so they
  share it copy-on-write and start at once. Each matches its piece as `match_file` does, without limits or a
  time budget (a local scan is trusted), every hit in order with its timestamp, and returns its grouper's state
  (catalog.matching.grouping.Grouper.state) and its hits: plain data.
- The parent takes the results in piece order (`imap`), numbers each piece's events after those of the pieces of
  its file before it, hands each hit to `on_hits` (the command prints them: the output is the same whatever the
  number of processes, by file then event number) and merges the states, per file and over all files.
  A later step that needs every hit of a file in time order (correlation rules) finds them in `FileScan.hits`
  when `keep_hits` is set: each worker returns its hits with their timestamps, in event order.

One process (`processes=1`, or a single piece) runs the same code in this process, without a pool.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import connections

from catalog.core.sigma.event_files import FileLimits, LoggedEvent, file_format
from catalog.core.sigma.evtx_ranges import ranges
from catalog.core.sigma.explain import matched_predicates
from catalog.core.sigma.logged_events import NO_LIMITS
from catalog.matching import engine
from catalog.matching.budget import ExplanationBudget
from catalog.matching.correlating import Correlator
from catalog.matching.grouping import Grouper, match_file

EVENT_FILE_SUFFIXES = (".evtx", ".json", ".jsonl", ".ndjson")
PIECE_CHUNKS = 256  # 16 MiB of an EVTX file: a quarter of a 64 MiB upload, some thousands of events
TRUSTED = FileLimits(max_bytes=1 << 62, max_events=1 << 62, per_event=NO_LIMITS)


@dataclass(frozen=True)
class Piece:
    path: str
    name: str  # as the user named the file (printed, and on samples and timeline entries)
    kind: str  # evtx, json, jsonl
    chunks: tuple[int, int] | None = None  # an EVTX file's chunks [first, stop); None: the whole file
    last: bool = True  # the file's last piece


@dataclass
class Hit:
    """One event that fired rules, as a worker found it (numbered within its file once merged)."""

    number: int
    timestamp: str
    shape: str
    # {"rule": {id, title, level}, "explanation": dict | None, "matched": its matched predicates (catalog.core.sigma.
    # explain.matched_predicates) | None}, by rule title
    hits: list[dict]


@dataclass
class FileScan:
    name: str
    kind: str
    grouper: Grouper
    hits: list[Hit] = field(default_factory=list)  # kept only when asked (keep_hits)
    correlations: dict[str, Any] | None = None  # catalog.matching.correlating's summary of the whole file

    def summary(self) -> dict[str, Any]:
        return {**self.grouper.result(), "file": self.name, "format": self.kind}


def event_files(paths: Iterable[str | Path]) -> list[tuple[Path, str]]:
    """(path, name) of every file named, and of every event file (EVENT_FILE_SUFFIXES) under every folder named,
    recursively, sorted by path; files in the order given. FileNotFoundError names a path that is neither."""
    found = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*") if p.suffix.lower() in EVENT_FILE_SUFFIXES and p.is_file())
            found.extend((p, str(p)) for p in inside)
        elif path.is_file():
            found.append((path, str(given)))
        else:
            raise FileNotFoundError(f"{given}: no such file or folder")
    return found


def plan(files: list[tuple[Path, str]], processes: int, per_piece: int = PIECE_CHUNKS) -> list[Piece]:
    """Files as pieces; big EVTX files split only when there are too few files to keep `processes` busy (a piece
    costs its own sample explanations and index building, which an unsplit file shares)."""
    pieces = []
    # A correlation's windows run over a whole file in time order: with correlation rules, files are never split.
    split = processes > 1 and len(files) < 2 * processes and not Correlator.for_catalog().active
    for path, name in files:
        kind = file_format(path)
        spans = ranges(path, per_piece) if kind == "evtx" and split else [None]
        if len(spans) == 1:
            pieces.append(Piece(str(path), name, kind))
            continue
        pieces.extend(Piece(str(path), name, kind, span, i == len(spans) - 1) for i, span in enumerate(spans))
    return pieces


def scan_piece(piece: Piece, source=None, details: bool = True) -> dict[str, Any]:
    """Match one piece (in a worker, or in this process): its grouper's state and its hits, in event order.
    `details=False`: each hit carries its matched predicates only, and the state no samples or timeline (`scan`)."""
    hits: list[Hit] = []
    grouper = Grouper(budget=ExplanationBudget.unlimited(), details=details)

    def on_hits(event: LoggedEvent, found: list[dict]) -> None:
        if details:  # else the grouper gave each sample hit its matched predicates
            for entry in found:
                explanation = entry["explanation"]
                entry["matched"] = None if explanation is None else matched_predicates(explanation)
        hits.append(Hit(event.number, event.timestamp, event.shape, found))

    summary = match_file(
        Path(piece.path), piece.name, TRUSTED, on_hits=on_hits, kind=piece.kind, source=source,
        grouper=grouper, chunks=piece.chunks, labelled=True,
    )  # fmt: skip
    return {"state": grouper.state(), "hits": hits, "correlations": summary["correlations"]}


def _work(job: tuple[Piece, Any, bool]) -> dict[str, Any]:
    return scan_piece(*job)


def default_processes() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def results(pieces: list[Piece], processes: int, source=None, details: bool = True) -> Iterator[dict[str, Any]]:
    """Each piece's result, in piece order: from a pool of `processes` forked workers, or from this process.

    Inside a transaction (a test's) the connections cannot be closed for the fork: the pieces run here."""
    engine.warm()  # loaded or compiled once, here, before the workers fork: they share it
    # Out of the cycle collector's passes, here and in the forked workers: they were most of the time the parent
    # spent taking the workers' results.
    with engine.collector_spared():
        yield from _results(pieces, processes, source, details)


def _results(pieces: list[Piece], processes: int, source, details: bool) -> Iterator[dict[str, Any]]:
    jobs = [(piece, source, details) for piece in pieces]
    in_transaction = any(c.in_atomic_block for c in connections.all(initialized_only=True))
    if processes <= 1 or len(pieces) <= 1 or in_transaction:
        yield from map(_work, jobs)
        return
    connections.close_all()  # a forked worker opens its own connection (for the explanations' rule rows)
    context = multiprocessing.get_context("fork")
    with context.Pool(min(processes, len(pieces))) as pool:
        yield from pool.imap(_work, jobs)


def scan(
    paths: Iterable[str | Path],
    processes: int | None = None,
    source=None,
    on_hits: Callable[[str, Hit], None] | None = None,
    on_file: Callable[[FileScan], None] | None = None,
    keep_hits: bool = False,
    per_piece: int = PIECE_CHUNKS,
    details: bool = True,
) -> Grouper:
    """Match every event file of `paths` (catalog.matching.scanning's docstring): `on_hits(name, hit)` for each event
    with hits, in file then event order, and `on_file` once a file is done. Returns the grouper of all files.
    `per_piece`: chunks of an EVTX file per piece. `details=False`: the hits carry their matched predicates but not
    their whole explanations, the rules no samples and the files no timeline (every event counted as left out of it):
    what a caller printing lines needs (the command), at a fraction of what crosses from the workers (pickling it
    all cost a 593-file scan a third of its time)."""
    files = event_files(paths)
    processes = processes or default_processes()
    pieces = plan(files, processes, per_piece)
    total = Grouper(budget=ExplanationBudget.unlimited())
    current: FileScan | None = None
    for piece, result in zip(pieces, results(pieces, processes, source, details), strict=True):
        if current is None:
            current = FileScan(piece.name, piece.kind, Grouper(budget=ExplanationBudget.unlimited()))
            offered: dict[str, int] = {}
        offset = current.grouper.events
        for hit in result["hits"]:
            if piece.chunks is not None:  # a piece of a file: numbered after, explained where one process would have
                hit.number += offset
                for found in hit.hits:  # a rule's first `samples` hits of the file
                    rule = found["rule"]["id"]
                    offered[rule] = offered.get(rule, 0) + 1
                    if offered[rule] > current.grouper.samples:
                        found["explanation"] = found["matched"] = None
            if on_hits is not None:
                on_hits(piece.name, hit)
        if keep_hits:
            current.hits.extend(result["hits"])
        current.grouper.merge(result["state"], offset)
        current.correlations = result["correlations"]  # a file with correlation rules is one piece (`plan`)
        if piece.last:
            total.merge(current.grouper.state())
            if on_file is not None:
                on_file(current)
            current = None
    return total
