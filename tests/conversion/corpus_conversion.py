"""The whole-corpus conversion check, shared by the conversion tests and the whole-catalog export test.

Every rule ends as a query or pySigma's message, and each query says whether it searches every event. The
check converts through the conversion cache (`stored.iter_rule_queries`), as a rule page or an export does:
so the whole-catalog Lucene export test checks Lucene's whole corpus first and then builds its export from
the queries that check cached, instead of converting SigmaHQ twice (about 30 CPU-s in CI).
"""

import time

from catalog.conversion import stored
from catalog.conversion.converter import choose
from catalog.exports.exporting import canonical_choice

# The lowest share of SigmaHQ each default target converts (measured: splunk, lucene, eql 3750, esql 3648,
# kusto with microsoft_xdr 2313 of 3780): a backend or pipeline upgrade that loses rules shows here.
CORPUS_MINIMUM = {"splunk": 3700, "lucene": 3700, "esql": 3550, "eql": 3700, "kusto": 2200}
# The most of those queries that may search every event with the default pipelines (measured: splunk 1121,
# lucene and eql 1137, esql 1047, kusto 0; with splunk_windows alone Splunk had 3352): see conversion/known.py.
CORPUS_MAXIMUM_UNCONSTRAINED = {"splunk": 1200, "lucene": 1200, "esql": 1100, "eql": 1200, "kusto": 0}


def check_whole_corpus(corpus, target: str) -> None:
    """Convert every rule of `corpus` for `target` (its default pipelines), cached, and check the outcome."""
    rules = list(corpus.only(*stored.RULE_FIELDS))
    started = time.perf_counter()
    ok = failed = unconstrained = 0
    backend_bugs = []
    # pipelines in the order pySigma applies them, as an export keys its cached queries: the same cache entries
    for rule, result in stored.iter_rule_queries(rules, canonical_choice(choose(target))):
        assert result.query is not None or result.errors, rule.uuid  # a query, or why not
        assert (result.unconstrained is None) == (result.query is None), rule.uuid  # judged when there is a query
        ok += result.query is not None
        failed += result.query is None
        unconstrained += bool(result.unconstrained)
        backend_bugs += [e for e in result.errors if " backend failed: " in e]
    seconds = time.perf_counter() - started
    print(
        f"\n{target}: {ok} converted ({unconstrained} unconstrained), {failed} failed,"
        f" of {len(rules)} in {seconds:.1f} s"
    )
    assert ok + failed == len(rules) and ok >= CORPUS_MINIMUM[target]
    assert unconstrained <= CORPUS_MAXIMUM_UNCONSTRAINED[target]
    assert all("Traceback" not in e for e in backend_bugs)
