"""Take the README's screenshots from a built catalog: `python -m docs.screenshots DATABASE_URL`.

The database should hold the SigmaHQ rules (e.g. built by `make bench`, or by `import_rules` into a
fresh SQLite file) with the sigmahq source's base URL set, so the rule page shows its upstream link.
Writes docs/screenshot-rule.png (1280 px laptop), docs/screenshot-phone.png (390 px phone), and the coverage page
for a Sysmon 1 + Security 4688 profile: docs/screenshot-coverage.png (laptop) and docs/screenshot-coverage-phone.png.
"""

import os
import shutil
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

from benchmarks.site import serve

DOCS = Path(__file__).resolve().parent
REFERENCE_RULE = "/rules/1c67a717-32ba-409b-a45d-0fb704a73a81/"  # System Network Connections Discovery Via Net.EXE
COVERAGE = "/coverage/?events=sysmon:1&events=security:4688"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def main(database_url: str) -> None:
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with serve(database_url, page_cache=False) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
        laptop = browser.new_page(viewport={"width": 1280, "height": 1100})
        laptop.goto(base + REFERENCE_RULE)
        laptop.screenshot(path=str(DOCS / "screenshot-rule.png"))
        phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        phone.goto(base + "/rules/?tactic=discovery&level=high")
        phone.screenshot(path=str(DOCS / "screenshot-phone.png"))
        laptop.goto(base + COVERAGE)
        laptop.screenshot(path=str(DOCS / "screenshot-coverage.png"))
        phone.goto(base + COVERAGE)
        phone.screenshot(path=str(DOCS / "screenshot-coverage-phone.png"))
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("DATABASE_URL", "sqlite:///db.sqlite3"))
