"""`make bench` (conversion part): SigmaHQ to SIEM queries, against pySigma's own SigmaCollection + backend.

For each default target the whole corpus is converted twice in this process, on the same rule texts:
- the catalog: each stored rule through catalog.conversion (the importer's parsing, pySigma's
  backend, a correlation with the rules it names), as rule pages and exports do when uncached;
- pySigma: SigmaCollection.from_yaml of every rule, merged, then backend.convert of the collection
  (collect_errors, so one bad rule does not stop it), as sigma-cli converts a rule folder.
Printed: both times and their ratio (target <= 1.2x), and each target's converted / failed counts.
Then the cost of a cached rule-page query (SQL queries and time of the one cache read), and the time to
first byte of a full-corpus bulk export from gunicorn, cold and cached.
"""

from __future__ import annotations

import http.client
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from benchmarks.import_bench import FOLDERS
from benchmarks.site import build_database, serve

REFERENCE_RULE = "1c67a717-32ba-409b-a45d-0fb704a73a81"
READS = 500


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def catalog_run(rules, choice) -> tuple[float, int, int]:
    from catalog.conversion import stored

    closure = stored.reference_closure(rules)
    started = time.perf_counter()
    converted = 0
    for rule in rules:
        referenced, missing = closure[rule.pk]
        converted += stored.convert_rule(rule, referenced, choice, missing).query is not None
    return time.perf_counter() - started, converted, len(rules) - converted


def pysigma_run(texts: list[str], choice) -> tuple[float, float, int, str]:
    """pySigma as sigma-cli runs it; when a backend raises something other than a SigmaError (pySigma then
    stops the whole collection), again from scratch with pySigma's own per-rule loop, each rule guarded."""
    from sigma.collection import SigmaCollection
    from sigma.exceptions import SigmaError
    from sigma.rule import SigmaRule

    from catalog.conversion.targets import registry

    def load():
        return SigmaCollection.merge([SigmaCollection.from_yaml(text, collect_errors=True) for text in texts])

    def backend():
        pipeline = registry().processing_pipeline(choice.pipelines)
        return choice.target.backend_class(processing_pipeline=pipeline, collect_errors=True)

    started = time.perf_counter()
    collection = load()
    loaded = time.perf_counter() - started
    converter = backend()
    try:
        converter.convert(collection)
        return time.perf_counter() - started, loaded, len(converter.errors), ""
    except SigmaError:
        raise
    except Exception as exc:
        note = f"; the whole collection stopped at {type(exc).__name__}, timed again rule by rule"
    started = time.perf_counter()
    collection = load()
    loaded = time.perf_counter() - started
    converter = backend()
    converter.init_processing_pipeline()
    collection.resolve_rule_references()
    stopped = 0
    for rule in collection.rules:
        try:
            if isinstance(rule, SigmaRule):
                converter.convert_rule(rule)
            else:
                converter.convert_correlation_rule(rule)
        except Exception:
            stopped += 1
    return time.perf_counter() - started, loaded, len(converter.errors) + stopped, note


def conversion_bench() -> None:
    from catalog.conversion import stored
    from catalog.conversion.converter import choose
    from catalog.conversion.targets import DEFAULT_TARGETS, registry
    from catalog.models import Rule

    registry()  # discovery once, outside the timings
    rules = list(Rule.objects.live().only(*stored.RULE_FIELDS).order_by("pk"))
    texts = [rule.yaml_text for rule in rules]
    print(f"Conversion of {len(rules)} SigmaHQ rules, one target at a time (same process, same rule texts)")
    for target in DEFAULT_TARGETS:
        choice = choose(target)
        ours, converted, failed = catalog_run(rules, choice)
        theirs, loading, errors, note = pysigma_run(texts, choice)
        print(
            f"  {target:7s} ({choice.pipeline:14s}) catalog {ours:6.1f} s  pySigma {theirs:6.1f} s "
            f"(of which from_yaml {loading:4.1f} s)  = {ours / theirs:4.2f} x (target <= 1.2x)   "
            f"{converted} converted, {failed} failed (pySigma: {errors} errors{note})"
        )


def cached_query_bench() -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from catalog.conversion import stored
    from catalog.conversion.converter import choose
    from catalog.models import Rule

    rule = Rule.objects.only(*stored.RULE_FIELDS).get(uuid=REFERENCE_RULE)
    choice = choose("splunk")
    started = time.perf_counter()
    stored.rule_query(rule, choice)  # converts and caches (unless an earlier run did)
    first = time.perf_counter() - started
    samples = []
    for _ in range(READS):
        started = time.perf_counter()
        stored.rule_query(rule, choice)
        samples.append(time.perf_counter() - started)
    with CaptureQueriesContext(connection) as queries:
        stored.rule_query(rule, choice)
    print(
        f"Rule page query (reference rule, splunk): first {first * 1000:.1f} ms; cached: {len(queries)} SQL "
        f"query (the cache read), median {statistics.median(samples) * 1000:.2f} ms over {READS}"
    )


def first_byte(base: str, path: str) -> tuple[float, float, int]:
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
    started = time.perf_counter()
    connection.request("GET", path, headers={"Host": "127.0.0.1"})
    response = connection.getresponse()
    body = response.read(1)
    ttfb = time.perf_counter() - started
    body += response.read()
    total = time.perf_counter() - started
    connection.close()
    if response.status != 200:
        raise RuntimeError(f"{path} answered {response.status}")
    return ttfb, total, len(body)


def export_bench(database_url: str) -> None:
    with serve(database_url, production=True, workers=2, page_cache=True) as base:
        for _ in range(4):  # each worker discovers the backends once, before the timed requests
            first_byte(base, "/api/targets/")
        for label in ("cold", "cached"):
            for path in ("/rules/export/elastic.ndjson", "/rules/export/splunk.conf"):
                ttfb, total, size = first_byte(base, path)
                print(
                    f"Full-corpus export {path} ({label}): first byte {ttfb * 1000:.0f} ms (target <= 1 s), "
                    f"complete {total:.1f} s, {size / 1e6:.1f} MB"
                )


def main(argv: list[str]) -> None:
    corpus = Path(argv[0] if argv else "../shared/corpus/sigmahq").resolve()
    with tempfile.TemporaryDirectory() as tmp:
        database_url = f"sqlite:///{tmp}/convert.sqlite3"
        build_database(database_url, [str(corpus / f) for f in FOLDERS])
        setup_django(database_url)
        conversion_bench()
        cached_query_bench()
        export_bench(database_url)


if __name__ == "__main__":
    main(sys.argv[1:])
