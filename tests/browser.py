"""What the browser tests share: a catalog served by gunicorn, Debian's Chromium, axe-core, CSP errors.

Not a test module. The `site` and `browser` fixtures of tests/conftest.py serve a module's catalog
with `catalog_site` and open Chromium with `chromium`, each module-scoped, on the database kind of the run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from axe_playwright_python.base import AXE_FILE_PATH

from benchmarks.site import _env, build_database, fresh_postgres_database, serve
from tests.built_catalogs import database_name, drop_database, postgres_run, postgres_server
from tests.constants import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1400, "height": 900}
# axe's impact levels the catalog must not have; "moderate" and "minor" are reported, not failed.
BLOCKING_IMPACTS = ("serious", "critical")


@contextmanager
def catalog_site(
    tmp_dir: Path,
    name: str,
    paths: list[str],
    source: str,
    base_url: str = "",
    production: bool = True,
    database_url: str = "",
    warm_matcher: bool = False,
    task_worker: bool = False,
):
    """Serve a catalog of `paths` (source `source`, optionally with an upstream base URL) on the run's database kind.

    Production settings by default (DEBUG off): error pages are the catalog's own, as a visitor sees
    them, and static files are the collected, hashed ones. `database_url`: serve this already built
    catalog (e.g. a copy from tests/built_catalogs.py) instead of building one from `paths`. A PostgreSQL
    database served here is dropped when the site stops. `warm_matcher`: gunicorn's master compiles the matcher
    before its workers start, as a deployment does (config/gunicorn.conf.py); off for sites whose tests never
    match an event in gunicorn, since compiling SigmaHQ costs seconds of CPU per site. `task_worker`: a task
    worker (`manage.py db_worker`) runs beside it, for sites whose tests queue background tasks (file uploads to
    /match/); a worker starts Django, runs the system checks and polls its queue five times a second, which sites
    without tasks spent for nothing (1-2 CPU-s at start-up, and more while their tests ran).
    """
    assert Path(CHROMIUM).exists(), "Chromium is required for the browser tests: apt-get install chromium"
    if not database_url:
        database_url = site_database(tmp_dir, name, paths, source)
    try:
        if base_url:
            set_base_url(database_url, source, base_url)
        with serve(
            database_url,
            production=production,
            env={"CATALOG_WARM_MATCHER": "1" if warm_matcher else "0"},
            task_worker=task_worker,
        ) as base:
            yield base
    finally:
        drop_database(database_url)


def site_database(tmp_dir: Path, name: str, paths: list[str], source: str) -> str:
    """A new catalog of `paths`, of this run and this test process only (see tests/built_catalogs.py)."""
    if postgres_run():
        database_url = fresh_postgres_database(postgres_server(), database_name(name))
    else:
        database_url = f"sqlite:///{tmp_dir / (name + '.sqlite3')}"
    build_database(database_url, paths, source=source)
    return database_url


def set_base_url(database_url: str, source: str, base_url: str) -> None:
    """Give a source its upstream base URL, as a curator would in the admin."""
    code = f"from catalog.models import Source; Source.objects.filter(name={source!r}).update(base_url={base_url!r})"
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "shell", "-c", code], env=_env(database_url), check=True, cwd=ROOT
    )


@contextmanager
def chromium():
    """Headless Chromium (Debian's), driven by Playwright; Django's async guard is off for sync_playwright."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    # Set only while the browser runs: a subprocess started later (e.g. `check --deploy`) must not inherit it.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def watch_console(page) -> list[str]:
    """Console errors of a page, as they come: a CSP violation or a broken asset shows up here."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    return errors


def axe_violations(page, impacts=BLOCKING_IMPACTS) -> list[dict]:
    """axe-core's violations of the page as it is now, of the given impacts.

    axe.min.js comes from the pinned axe-playwright-python wheel. It is evaluated through the
    DevTools protocol, which the page's Content-Security-Policy does not govern (a <script> tag
    would be refused, as it should be).
    """
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_FILE_PATH.read_text(encoding="utf-8"))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [v for v in result["violations"] if v.get("impact") in impacts]


def describe(violations: list[dict]) -> str:
    """A readable list: rule id, impact, how many nodes, the first few targets and why."""
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}, {len(v['nodes'])} nodes): {v['help']}")
        for node in v["nodes"][:3]:
            lines.append(f"    {node['target']}: {node.get('failureSummary', '').splitlines()[-1:]}")
    return "\n".join(lines)


def shot(page, name: str, full_page: bool = True) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)
