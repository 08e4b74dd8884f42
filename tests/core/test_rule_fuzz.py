"""Fuzzing the parser with mutated real rules: every file either parses or gives a clear problem.

A few hundred files are made in the test from real rules (the example rules of rules/, and a sample
of the SigmaHQ snapshot when ../shared holds it) by deleting, duplicating, re-indenting and cutting
lines, inserting odd scalars and changing value types. For each: no exception other than a
RuleFileError, problems that are `path:line: message` on one line, and no hang (each parse runs
under an alarm; the slowest is printed). Mutations that keep a rule's meaning (comments, blank
lines, trailing spaces, CRLF line ends) must still give the same rules.
"""

import random
import signal
import time
import traceback
from pathlib import Path

import pytest

from catalog.core.sigma.parsing import parse_file
from catalog.core.sigma.problems import RuleFileError
from tests.constants import EXAMPLES

SEED = 20240608
PER_PARSE_ALARM = 20  # seconds: a hang guard, far above any parse (the slowest is printed, not asserted)
ODD_SCALARS = [
    "~",
    "null",
    "true",
    "0x1F",
    "1e400",
    "2021-13-45",
    "!!binary Zm9v",
    "!!python/object:os.system x",
    "*undefined_alias",
    "&anchor",
    "[",
    "{a: [b, {c: d}]}",
    '"\\q unknown escape"',
    "'unterminated",
    "- - - - x",
    "? complex",
    "|",
    ">-",
    "%TAG ! x",
    "@reserved",
    "`backtick",
    "\t",
    "😀🧑🏿‍🤝‍🧑🏿",
    "\u202e",
    "'" + "A" * 3000 + "'",
    "[" * 80 + "]" * 80,
]
TYPE_CHANGES = ["123", "true", "null", "[]", "{}", "[a, 1, ~]", "{x: 1}", "2021-05-03", "'*'", "-1.5"]


def mutate(text: str, rng: random.Random) -> tuple[str, str]:
    """(mutated text, what was done) for one random mutation."""
    lines = text.split("\n")
    index = rng.randrange(len(lines))
    kind = rng.choice(
        ["delete", "duplicate", "indent", "dedent", "odd", "odd_value", "truncate", "type", "swap", "nest", "dupkey"]
    )
    line = lines[index]
    if kind == "delete":
        del lines[index]
    elif kind == "duplicate":
        lines.insert(index, line)
    elif kind == "indent":
        lines[index] = " " * rng.choice([1, 2, 4, 8]) + line
    elif kind == "dedent":
        lines[index] = line.lstrip()
    elif kind == "odd":
        lines.insert(index, line[: len(line) - len(line.lstrip())] + rng.choice(ODD_SCALARS))
    elif kind == "odd_value" and ": " in line:
        lines[index] = line.split(": ", 1)[0] + ": " + rng.choice(ODD_SCALARS)
    elif kind == "truncate":
        return text[: rng.randrange(len(text) + 1)], f"truncate at {len(text)}"
    elif kind == "type" and ":" in line:
        lines[index] = line.split(":", 1)[0] + ": " + rng.choice(TYPE_CHANGES)
    elif kind == "swap" and len(lines) > 1:
        other = rng.randrange(len(lines))
        lines[index], lines[other] = lines[other], line
    elif kind == "nest":
        lines.insert(index, line[: len(line) - len(line.lstrip())] + "x: " + "[" * 70 + "]" * 70)
    elif kind == "dupkey" and ":" in line:
        lines.insert(index + 1, line)
    return "\n".join(lines), f"{kind} at line {index + 1}"


NEUTRAL = {
    "comment lines": lambda text: "# a comment\n" + text.replace("\n", "\n# another comment\n", 1),
    "blank lines": lambda text: "\n\n" + text + "\n\n",
    "trailing spaces": lambda text: "\n".join(line + "  " if line.strip() else line for line in text.split("\n")),
    "CRLF line ends": lambda text: text.replace("\n", "\r\n"),
}


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang()


def parse_checked(data: bytes, path: str, what: str, timings: list) -> list:
    """Parse under an alarm; fail on anything but rules, well-formed problems or a RuleFileError."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(PER_PARSE_ALARM)
    started = time.perf_counter()
    try:
        rules, problems = parse_file(data, path)
    except RuleFileError as exc:
        assert exc.line >= 0 and exc.message and "\n" not in exc.message, (path, what, exc.message)
        return []
    except Hang:
        pytest.fail(f"{path} ({what}): no result after {PER_PARSE_ALARM} s")
    except Exception:  # the point of the test: report the file, the mutation and the traceback
        pytest.fail(f"{path} ({what}) raised:\n{traceback.format_exc()}")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        timings.append((time.perf_counter() - started, path, what))
    for problem in problems:
        assert problem.line >= 0 and "\n" not in str(problem), (path, what, str(problem))
    for rule in rules:
        assert all(line >= 1 and "\n" not in message for line, message in rule.warnings), (path, what)
    return rules


def fuzz(files: list[Path], root: Path, mutations_per_file: int) -> None:
    rng = random.Random(SEED)
    timings: list = []
    checked = 0
    for path in files:
        text = path.read_text(encoding="utf-8")
        name = str(path.relative_to(root))
        original = parse_checked(text.encode(), name, "original", timings)
        if not original:
            continue  # not a valid rule file to start with: only its mutations are checked
        expected = [(rule.uuid, rule.title, len(rule.stages)) for rule in original]
        for label, change in NEUTRAL.items():
            rules = parse_checked(change(text).encode(), name, label, timings)
            assert [(r.uuid, r.title, len(r.stages)) for r in rules] == expected, (name, label)
        for _ in range(mutations_per_file):
            mutated, what = mutate(text, rng)
            parse_checked(mutated.encode(), name, what, timings)
            checked += 1
    slowest = max(timings)
    print(f"\n{checked} mutated files, {len(timings)} parses; slowest {slowest[0]:.3f} s: {slowest[1]} ({slowest[2]})")


def test_mutated_example_rules():
    files = sorted(p for p in EXAMPLES.rglob("*") if p.suffix in (".yml", ".yaml"))
    assert len(files) > 20
    fuzz(files, EXAMPLES, mutations_per_file=12)


def test_mutated_sigmahq_rules(corpus_dir):
    files = sorted((corpus_dir / "rules").rglob("*.yml"))
    sample = random.Random(SEED).sample(files, 40)
    fuzz(sample, corpus_dir, mutations_per_file=5)
