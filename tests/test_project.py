"""The project's own shape: module sizes, migrations in step with the models, lint configured."""

import ast
import re
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


def test_tests_mirror_the_feature_packages():
    """tests/<package>/ holds the tests of catalog/<package>/: a reader finds a feature's tests by its name."""
    packages = {p.parent.name for p in (ROOT / "catalog").glob("*/__init__.py")}
    folders = {p.parent.name for p in (ROOT / "tests").glob("*/test_*.py")}
    assert folders and folders <= packages, f"test folders without a package: {sorted(folders - packages)}"
    at_top = sorted(p.name for p in (ROOT / "tests").glob("test_*.py"))
    assert at_top == ["test_project.py"], f"put these in tests/<feature>/: {at_top}"
    milestone = [p.name for p in (ROOT / "tests").rglob("test_*.py") if re.match(r"test_h\d", p.name)]
    assert not milestone, f"name tests after what they test, not a milestone: {milestone}"


def test_every_module_a_migration_imports_exists():
    """Data migrations import catalog code inside their functions, which only run on a catalog with rules:
    a module moved away would break `migrate` on an existing database and nowhere else."""
    import importlib.util

    missing = []
    for path in sorted((ROOT / "catalog" / "migrations").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("catalog"):
                for alias in node.names:
                    module = f"{node.module}.{alias.name}"
                    if importlib.util.find_spec(node.module) is None or not (
                        importlib.util.find_spec(module) or hasattr(importlib.import_module(node.module), alias.name)
                    ):
                        missing.append(f"{path.name}: from {node.module} import {alias.name}")
    assert not missing, missing
