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
    _warm_code(server)
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
    """The rule lists' per-version index (catalog.browse.queries.rule_index) and the champion lists of the words many
    titles hold (catalog.browse.queries.broad_words), read once for every worker: at 20x SigmaHQ 0.3-1 s that each
    worker's first filtered list or search would otherwise pay, or 2-7 s to build them."""
    from catalog.browse.queries import broad_words, rule_index

    try:
        rule_index.current()
        broad_words.KEPT.current()  # the champion lists of the words many titles hold, built with it
    except Exception:  # e.g. a database not migrated yet: the workers build it on first use
        server.log.exception("The rule index was not built before the workers started; each builds it on first use")


def _warm_code(server):
    """Import every view (the URLconf) and compile the project's templates once, in the master: each worker's first
    request otherwise paid for both (0.9 s at 20x SigmaHQ, 0.4 s of it importing the views), and the workers now share
    the compiled templates' memory."""
    from pathlib import Path

    from django.template import engines
    from django.urls import get_resolver

    try:
        get_resolver().resolve("/")  # imports the URLconf, and with it every view
        for engine in engines.all():
            for folder in map(Path, engine.dirs):  # the project's own folders (DIRS), not every app's
                for path in sorted(folder.rglob("*.html")):
                    name = path.relative_to(folder).as_posix()
                    if not (engine.name == "django" and name.startswith("jinja2/")):  # Jinja2's, under its own engine
                        engine.get_template(name)
    except Exception:  # a template or a view that fails here fails on its page too, where it is reported
        server.log.exception("The views and templates were not loaded before the workers started")
