"""`make bench` (conversion isolation): what a conversion of its own, and a request's budget, cost per rule.

Every conversion makes its backend and pipelines afresh (pySigma's transformations keep state between
conversions), and a conversion made for a request runs in a forked child under a time and memory budget
(catalog.conversion.budget). Printed per default target, on SigmaHQ process_creation rules: the time of
one conversion with a backend shared by all (as before), with a backend of its own (now, everywhere), and
in a budgeted child (now, for a request whose query is not cached yet); and the worker's RSS at the end.
No database: rules are read from the corpus files.
"""

from __future__ import annotations

import contextlib
import os
import resource
import sys
import time
from pathlib import Path

RULES = 150


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from sigma.collection import SigmaCollection

    from catalog.conversion.budget import request_budget
    from catalog.conversion.converter import choose, convert, new_backend
    from catalog.conversion.sources import read_rules
    from catalog.core.sigma.loading import Limits

    corpus = Path(argv[0] if argv else "../shared/corpus/sigmahq").resolve()
    files = sorted((corpus / "rules" / "windows" / "process_creation").glob("*.yml"))[:RULES]
    texts = [path.read_text(encoding="utf-8") for path in files]
    print(f"Conversion isolation: {len(texts)} SigmaHQ process_creation rules, ms per conversion")
    print(f"{'target':8} {'shared backend':>15} {'own backend':>12} {'budgeted child':>15}")
    for target in ("splunk", "lucene", "esql", "eql", "kusto"):
        choice = choose(target)
        shared = new_backend(choice)

        def timed(run) -> float:
            fresh = [read_rules(text, Limits()).rules for text in texts]  # pipelines modify rules: fresh ones
            started = time.perf_counter()
            for rules in fresh:
                run(rules)
            return (time.perf_counter() - started) * 1000 / len(fresh)

        def with_shared(rules, shared=shared) -> None:
            with contextlib.suppress(Exception):  # a rule the backend refuses costs its time all the same
                shared.convert(SigmaCollection(rules))

        def budgeted(rules, choice=choice) -> None:
            with request_budget():
                convert(rules, choice)

        cells = [timed(with_shared), timed(lambda rules, choice=choice: convert(rules, choice)), timed(budgeted)]
        print(f"{target:8} {cells[0]:15.2f} {cells[1]:12.2f} {cells[2]:15.2f}")
    print(f"RSS at the end: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB (peak)")


if __name__ == "__main__":
    main(sys.argv[1:])
