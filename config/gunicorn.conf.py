"""gunicorn's settings for every deployment of the catalog: `gunicorn -c config/gunicorn.conf.py config.wsgi`.

`make serve` and the test and benchmark sites (benchmarks/site.py) start it so. The application is loaded once,
in the master (`preload_app`), and the master compiles the catalog's matcher before it forks the workers: no
visitor's first `/match/` pays for compiling some 3,800 rules (4-5 s of CPU, and far longer on a busy machine),
and the workers share one compiled catalog instead of each building its own. A later catalog version is
compiled by each worker on its first match, as before. `CATALOG_WARM_MATCHER=0` leaves the compiling to the
workers (e.g. a deployment that never matches events).
"""

import os

preload_app = True


def when_ready(server):
    """In the master, after the app is loaded and before any worker forks."""
    from django.db import connections

    _warm_rule_index(server)
    if os.environ.get("CATALOG_WARM_MATCHER", "1") == "0":
        connections.close_all()
        return

    from catalog.matching.engine import warm

    try:
        warm()
    except Exception:  # e.g. a database not migrated yet: the workers compile on first use, as without warming
        server.log.exception("The matcher was not compiled before the workers started; each compiles on first use")
    finally:
        connections.close_all()  # no forked worker may share the master's database connection


def _warm_rule_index(server):
    """The rule lists' per-version index (catalog.browse.queries.rule_index), read once for every worker: at 20x
    SigmaHQ 0.3-1 s that each worker's first filtered list or search would otherwise pay."""
    from catalog.browse.queries import rule_index

    try:
        rule_index.current()
    except Exception:  # e.g. a database not migrated yet: the workers build it on first use
        server.log.exception("The rule index was not built before the workers started; each builds it on first use")
