"""A synthetic corpus N times the SigmaHQ corpus, for measuring how pages grow with the corpus (issue 10).

Copy 0 is the corpus itself (so realistic searches still find their rules first); copies 1..N-1 are the
same rules re-identified: every id the corpus knows becomes a uuid5 of (copy, id) — `related` links
stay inside their copy — titles get " (copy k)", and about 30% of the detection's string values get a
suffix so the indicator tables grow like a bigger, different corpus rather than repeat. Deterministic
(seeded per copy and file): the same N writes the same files.

    .venv/bin/python -m benchmarks.synthetic_corpus 20 /tmp/sigma-x20   # writes /tmp/sigma-x20/rules-copy-*/
"""

from __future__ import annotations

import random
import sys
import uuid
from pathlib import Path

import yaml

from benchmarks.builds import FOLDERS

NAMESPACE = uuid.UUID("9b1f4c1e-5d0a-4c4e-9a57-3f0c2a7d1e20")
PERTURBED_SHARE = 0.3
UNTOUCHED_MODIFIERS = ("|cidr", "|re", "|base64", "|expand", "|fieldref", "|lt", "|gt", "|minute", "|hour")


def corpus_files(corpus: Path) -> list[Path]:
    return sorted(p for folder in FOLDERS for p in (corpus / folder).rglob("*") if p.suffix in (".yml", ".yaml"))


def build(corpus: Path, copies: int, target: Path) -> list[str]:
    """Write `copies` copies of `corpus` under `target` (one folder per copy); return the folders to import."""
    files = corpus_files(corpus)
    rules = [
        (path.relative_to(corpus), yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader))
        for path in files
    ]
    ids = {str(rule.get("id")) for _, rule in rules if isinstance(rule, dict) and rule.get("id")}
    folders = []
    for copy in range(copies):
        folder = target / f"rules-copy-{copy:02d}"
        folders.append(str(folder))
        if folder.is_dir() and sum(1 for _ in folder.rglob("*.yml")) == len(rules):
            continue  # written by an earlier run (deterministic)
        for relative, rule in rules:
            out = folder / relative
            out.parent.mkdir(parents=True, exist_ok=True)
            if copy == 0 or not isinstance(rule, dict):
                out.write_text((corpus / relative).read_text(encoding="utf-8"), encoding="utf-8")
                continue
            shaken = _copied(rule, copy, ids, random.Random(f"{copy}:{relative}"))
            out.write_text(yaml.dump(shaken, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True))
    return folders


def _copied(rule: dict, copy: int, ids: set[str], rng: random.Random) -> dict:
    rule = _reidentified(rule, copy, ids)
    if isinstance(rule.get("title"), str):
        rule["title"] = f"{rule['title']} (copy {copy})"
    if isinstance(rule.get("detection"), dict):
        rule["detection"] = {
            key: value if key == "condition" else _perturbed(value, "", copy, rng)
            for key, value in rule["detection"].items()
        }
    return rule


def _reidentified(value, copy: int, ids: set[str]):
    if isinstance(value, dict):
        return {k: _reidentified(v, copy, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_reidentified(v, copy, ids) for v in value]
    if isinstance(value, str) and value in ids:
        return str(uuid.uuid5(NAMESPACE, f"{copy}:{value}"))
    return value


def _perturbed(value, key: str, copy: int, rng: random.Random):
    if isinstance(value, dict):
        return {k: _perturbed(v, str(k), copy, rng) for k, v in value.items()}
    if isinstance(value, list):
        return [_perturbed(v, key, copy, rng) for v in value]
    if not isinstance(value, str) or not value or any(m in key for m in UNTOUCHED_MODIFIERS):
        return value
    if rng.random() >= PERTURBED_SHARE:
        return value
    suffix = f"_v{copy}"
    return value[:-1] + suffix + "*" if value.endswith("*") else value + suffix


def main(argv: list[str]) -> None:
    copies, target = int(argv[0]), Path(argv[1]).resolve()
    corpus = Path(argv[2] if len(argv) > 2 else "../shared/corpus/sigmahq").resolve()
    for folder in build(corpus, copies, target):
        print(folder)


if __name__ == "__main__":
    main(sys.argv[1:])
