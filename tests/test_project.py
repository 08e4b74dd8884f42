"""The project's own shape: module sizes, migrations in step with the models, lint configured."""

import ast
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent
MAX_MODULE_LINES = 300
# Pure data tables may be longer: they hold facts, not logic.
DATA_TABLES = {"catalog/core/reference/event_tables.py"}  # hand-written tables: event titles, log sources


def _modules():
    for path in sorted((ROOT / "catalog").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if "/migrations/" not in relative:
            yield relative, path


def test_no_module_in_catalog_is_longer_than_about_300_lines():
    too_long = {
        relative: length
        for relative, path in _modules()
        if relative not in DATA_TABLES
        and (length := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert not too_long, f"split these modules (one job each): {too_long}"


def test_the_parsing_core_imports_no_django():
    core = [(relative, path) for relative, path in _modules() if relative.startswith("catalog/core/")]
    assert len(core) > 20  # the Sigma core and the reference data, not an empty glob
    for relative, path in core:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {
            (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
            for node in ast.walk(tree)
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for alias in node.names
        }
        assert not {name for name in imported if name.split(".")[0] in {"django", "rest_framework"}}, relative


@pytest.mark.django_db
def test_migrations_match_the_models():
    out = StringIO()
    try:
        call_command("makemigrations", "catalog", check=True, dry_run=True, stdout=out)
    except SystemExit as exc:  # --check exits non-zero when a migration is missing
        pytest.fail(f"models changed without a migration:\n{out.getvalue()} ({exc})")


def test_the_lock_file_pins_every_dependency_pyproject_names():
    """`make install` installs requirements.lock alone: a dependency added to pyproject.toml without `make lock`
    would be missing on a new machine (and pip check would not notice an extra's absence)."""
    import re
    import tomllib

    root = Path(__file__).resolve().parent.parent
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"]) + [d for extra in project["optional-dependencies"].values() for d in extra]
    locked = {
        (m.group(1).lower().replace("_", "-"), m.group(2))
        for m in re.finditer(r"^([A-Za-z0-9_.-]+)==([^\s;\\]+)", (root / "requirements.lock").read_text(), re.M)
    }
    missing = []
    for requirement in wanted:
        name, version = re.match(r"([A-Za-z0-9_.-]+)(?:\[[^]]*\])?==(\S+)", requirement).groups()
        if (name.lower().replace("_", "-"), version) not in locked:
            missing.append(requirement)
    assert not missing, f"run `make lock`: requirements.lock lacks {missing}"
