"""The matcher of the session's SigmaHQ import, compiled once per test process instead of once per test.

Compiling SigmaHQ's 3,780 rules costs 2-3 CPU-s. Tests that match against the unchanged corpus share one
compiled catalog, kept per (catalog version number, changed_at): every change bumps both, and a rolled-back test
restores both with the rows, so a state seen again is the same catalog. Anything else compiles afresh.
"""

import pytest

_compiled = {}  # (number, changed_at) of the session's corpus -> its CompiledCatalog


@pytest.fixture
def corpus_matcher(corpus):
    from catalog.matching import engine, kept
    from catalog.models import CatalogVersion

    state = CatalogVersion.state()
    kept.forget()
    if state in _compiled:
        kept.for_version(state[0]).catalog = _compiled[state]
    else:
        _compiled[state] = engine.warm()
    yield
    kept.forget()
