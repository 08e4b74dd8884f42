"""config/gunicorn.conf.py loads the views and compiles the project's templates in the master, before it forks."""

import importlib.util
import logging
from pathlib import Path

from django.template import engines

CONF = Path(__file__).resolve().parents[2] / "config" / "gunicorn.conf.py"


class Server:
    def __init__(self):
        self.log = logging.getLogger("gunicorn-test")


def gunicorn_conf():
    spec = importlib.util.spec_from_file_location("gunicorn_conf", CONF)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_project_template_compiles_before_the_workers_start(caplog):
    django_engine, jinja = engines["django"], engines["jinja2"]
    django_engine.engine.template_loaders[0].reset()  # the cached loader: forget what earlier tests compiled
    jinja.env.cache.clear()
    with caplog.at_level(logging.ERROR, logger="gunicorn-test"):
        gunicorn_conf()._warm_code(Server())
    assert not caplog.records, "a template or a view failed to load"
    cached = django_engine.engine.template_loaders[0].get_template_cache
    assert {"browse/rule_list.html", "base.html", "includes/_rule_row.html"} <= set(cached)
    assert not any(name.startswith("jinja2/") for name in cached)  # Jinja2's templates are Jinja2's
    assert "browse/_facet_panel.html" in {name for _, name in jinja.env.cache}
