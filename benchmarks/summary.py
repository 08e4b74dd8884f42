"""The closing table of `make bench`: issue 22's figures for SQLite and PostgreSQL at 1x and 20x, each beside its goal.

    .venv/bin/python -m benchmarks.summary            # print the table from what the benchmarks recorded
    .venv/bin/python -m benchmarks.summary --reset    # forget earlier figures (`make bench` does this first)
    .venv/bin/python -m benchmarks.summary --help

How long `make bench` takes on this 2-core machine shared with other work, per part (two runs: load average 2-4 /
4-15); the first run and a run with the builds kept take the same, but for writing the 20x corpus (30 s) and the
EVTX replicas (1 min) once:
  import_bench    7 / 18 min  1x and 20x, both engines: every import is cold (a figure), so kept builds do not
                              shorten it; its cold imports become the kept builds, so nothing else imports the corpus
  scale_bench     5 /  6 min  20 pages uncached and cold, throughput, both engines, 1x and 20x
  scan_bench      2 /  3 min  regression files, 1 GiB replica, the 593-file stand-in; 1 and 2 processes
  convert_bench   9 / 15 min  pySigma conversions of SigmaHQ for 7 targets
  the rest        5 /  4 min  sync, serve, search, conversion isolation, coverage, match, correlation
  in all         28 / 46 min
A first run without BENCH_CACHE also writes the 20x synthetic corpus (30 s). Run alone without kept builds,
scale_bench (or search/serve/coverage/scan/match_bench) first builds what it serves: 20 s per engine at 1x,
4-5 min per engine at 20x (75,600 rules).

Reads benchmarks.results (BENCH_RESULTS, default $BENCH_CACHE/results), which import_bench, scale_bench,
scan_bench, search_bench and coverage_bench write. Every page figure is a ratio to a static file served by the same
gunicorn in the same run; imports are ratios to libyaml's parse of the same files and scans to the `evtx` parser
on the same files, each measured in the same run. "!" marks a figure that misses its goal, "-" one not measured.
The load average beside each part is the machine's (1-minute) when that part recorded its figures.
"""

from __future__ import annotations

import math
import sys

from benchmarks import results

COLUMNS = [("sqlite", 1), ("sqlite", 20), ("postgresql", 1), ("postgresql", 20)]
PAGE_GOAL, RULE_PAGE_GOAL, GROWTH_GOAL = 30.0, 20.0, 1.5
SEARCH_GOAL = {1: 150.0, 20: 100.0}
IMPORT_GOAL = {"cold": 4.0, "unchanged": 1.5}
SCAN_RATE_GOAL, STAND_IN_GOAL = 20_000, 2.5
WIDTH = 34


def cell(value: float | None, goal: float | None = None, unit: str = "x", above: bool = False, fmt: str = ".1f"):
    """`value` formatted, "!" when it misses `goal` (over it; under it when `above`)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    miss = goal is not None and (value < goal if above else value > goal)
    return f"{value:{fmt}}{unit}{'!' if miss else ' '}"


def row(label: str, cells: list[str], goal: str) -> str:
    return f"{label[:WIDTH]:{WIDTH}s} " + " ".join(f"{c:>11s}" for c in cells) + f"  {goal}"


def header(title: str, columns: list[str]) -> str:
    return f"\n{title[:WIDTH]:{WIDTH}s} " + " ".join(f"{c:>11s}" for c in columns) + "  goal"


def pages_table(pages: dict) -> list[str]:
    columns = ["SQLite 1x", "20x", "growth", "PG 1x", "20x", "growth"]
    lines = [header("Uncached page / static file", columns)]
    labels = next((list(v["uncached"]) for v in pages.values()), [])
    for label in labels:
        goal = RULE_PAGE_GOAL if label == "rule page" else PAGE_GOAL
        cells = []
        for engine in ("sqlite", "postgresql"):
            one, twenty = (pages.get(f"{engine}/{s}", {}).get("uncached", {}).get(label) for s in (1, 20))
            growth = twenty / one if one and twenty else None
            cells += [cell(one, goal), cell(twenty, goal), cell(growth, GROWTH_GOAL)]
        lines.append(row(label, cells, f"<= {goal:.0f}x; growth <= {GROWTH_GOAL}x"))
    cells = [cell(pages.get(f"{e}/{s}", {}).get("static_ms"), unit="ms", fmt=".2f") for e, s in COLUMNS]
    lines.append(row("(static file, median)", [cells[0], cells[1], "", cells[2], cells[3], ""], ""))
    worst = []
    for e, s in COLUMNS:
        cold = pages.get(f"{e}/{s}", {}).get("cold")
        worst.append(cell(max(cold.values()), PAGE_GOAL) if cold else "-")
    lines.append(row("(cold, fragments off: worst page)", [worst[0], worst[1], "", worst[2], worst[3], ""], ""))
    return lines


def by_column(title: str, figures: dict, value, goal_text: str, goals=None, above=False, fmt=".1f", unit="x"):
    cells = []
    for engine, scale in COLUMNS:
        figure = figures.get(f"{engine}/{scale}")
        goal = goals(scale) if goals else None
        cells.append(cell(value(figure), goal, unit, above, fmt) if figure else "-")
    return row(title, cells, goal_text)


def scan_table(scan: dict | None) -> list[str]:
    lines = [header("EVTX scan, whole SigmaHQ catalog", ["1 process", "2 processes", "parser"])]
    if not scan:
        return [*lines, row("(not measured)", [], "")]
    startup = [f"{scan['compile_s']:.2f}s", f"{scan['load_s']:.2f}s"]
    lines.append(row("start-up: compile / load catalog", startup, "shown apart; steady = wall - load"))
    for key in ("regression", "replica", "stand-in"):
        runs = [r for r in sorted(scan["rows"], key=lambda r: r["processes"]) if r["input"] == key]
        if not runs:
            continue
        first = runs[0]
        lines.append(f"  {first['label']}, {first['events']:,} events")
        steady = [r["events"] / max(r["wall_s"] - r["startup_s"], 1e-9) for r in runs]
        rate_goal = SCAN_RATE_GOAL if key == "replica" else None
        cells = [cell(steady[0], None, "", fmt=",.0f"), *(cell(v, rate_goal, "", True, ",.0f") for v in steady[1:])]
        cells.append(cell(first["events"] / first["parser_s"], None, "", fmt=",.0f"))
        lines.append(
            row("  events/s, steady state", cells, f">= {SCAN_RATE_GOAL:,}/s, 2 processes" if rate_goal else "")
        )
        lines.append(
            row("  events/s, end to end", [cell(r["events"] / r["wall_s"], None, "", fmt=",.0f") for r in runs], "")
        )
        wall_goal = STAND_IN_GOAL if key == "stand-in" else None
        cells = [cell(r["wall_s"], wall_goal, "s", fmt=".2f") for r in runs] + [f"{first['parser_s']:.2f}s "]
        lines.append(row("  wall s, end to end", cells, f"<= {wall_goal} s end to end" if wall_goal else ""))
        lines.append(row("  scan / parser, wall", [cell(r["wall_s"] / r["parser_s"]) for r in runs], ""))
        lines.append(
            row("  events per CPU-s", [cell(r["events"] / r["cpu_s"], None, "", fmt=",.0f") for r in runs], "")
        )
    return lines


def loads(figures: dict) -> str:
    values = [v["load"] for part in figures.values() for v in part.values() if isinstance(v, dict) and "load" in v]
    return f"{min(values):.1f}-{max(values):.1f}" if values else "-"


def summary() -> str:
    figures = results.load()
    pages, imports = figures.get("pages", {}), figures.get("import", {})
    lines = [
        "=" * 110,
        "Summary (issue 22): ratios to a baseline measured in the same run; '!' misses its goal, '-' not measured",
        f"load average (1 min) when figures were recorded: {loads(figures)} on {_cpus()} CPUs; per part: "
        + ", ".join(f"{name} {loads({name: part})}" for name, part in figures.items()),
        "=" * 110,
        *pages_table(pages),
        header("Throughput and imports", ["SQLite 1x", "20x", "PG 1x", "20x"]),
        by_column("uncached search req/s, 32 clients", pages, lambda f: f.get("search_rate"),
                  ">= 150/s at 1x, >= 100/s at 20x", lambda s: SEARCH_GOAL.get(s, 100.0), True, ".0f", "/s"),
        by_column("  (static file req/s, same run)", pages, lambda f: f.get("search_static_rate"), "", fmt=".0f",
                  unit="/s"),
    ]  # fmt: skip
    for kind, name in (("cold", "import cold / parse"), ("unchanged", "import unchanged / parse")):
        goal = IMPORT_GOAL[kind]
        lines.append(by_column(f"{name}, wall", imports, lambda f, k=kind: f[k]["ratio"], f"<= {goal}x",
                               lambda s, g=goal: g, fmt=".2f"))  # fmt: skip
        lines.append(by_column(f"{name}, CPU", imports, lambda f, k=kind: f[k]["cpu_ratio"], f"<= {goal}x (CPU)",
                               lambda s, g=goal: g, fmt=".2f"))  # fmt: skip
    lines.append(by_column("  (libyaml parse, wall s)", imports, lambda f: f["parse_s"], "", fmt=".1f", unit="s"))
    lines.append(by_column("  (cold import, wall s)", imports, lambda f: f["cold"]["s"], "", fmt=".0f", unit="s"))
    lines += scan_table(figures.get("scan", {}).get("1x"))
    other = []
    for name in ("search", "coverage"):
        for key, value in figures.get(name, {}).items():
            other.append(f"{name} p50 {key} {value['p50_ratio']:.1f}x static")
    if other:
        lines += ["", "Also measured: " + "; ".join(other)]
    return "\n".join(lines)


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


def main(argv: list[str]) -> None:
    if argv[:1] in (["--help"], ["-h"]):
        print(__doc__)
        return
    if argv[:1] == ["--reset"]:
        results.reset()
        return
    print(summary())


if __name__ == "__main__":
    main(sys.argv[1:])
