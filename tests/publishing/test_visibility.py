"""`hidden` and `retired` change only through catalog.publishing.visibility, and every change recounts and bumps.

The first half reads the code: any module under catalog/ other than catalog/publishing/visibility.py that
writes either column fails the test, whatever the way (an attribute assignment, an UPDATE, a
create, an `update_fields` or `bulk_update` list, raw SQL). The second half proves the promise the
one writer keeps: hiding a rule through the admin (form and bulk action), `curate`,
`import_curation` and set_visibility itself recounts corpus counts and bumps the catalog version.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]  # the repository
CATALOG = ROOT / "catalog"
ONE_WRITER = CATALOG / "publishing" / "visibility.py"
COLUMNS = frozenset({"hidden", "retired"})
# Objects with a *count* called `retired` (an import run's row, an import report), not the Rule column.
# This is the whole allow-list: nothing under catalog/ needs to write the columns themselves.
COUNTERS = frozenset({"run", "run_row", "self.run_row", "report", "self.report"})
WRITE_METHODS = frozenset({"update", "create", "bulk_create", "get_or_create", "update_or_create"})
RAW_SQL_WRITE = re.compile(r"\bSET\b[^;]*?[\"'`]?\b(hidden|retired)\b[\"'`]?\s*=", re.IGNORECASE | re.DOTALL)


class _Writes(ast.NodeVisitor):
    """Collects 'line: what' for every write of `hidden` / `retired` in one module's syntax tree."""

    def __init__(self, constants: dict):
        self.constants = constants  # the module's globals, to read field lists named by a constant
        self.found: list[tuple[int, str]] = []

    def flag(self, node, what: str) -> None:
        self.found.append((node.lineno, what))

    # rule.hidden = ..., a.retired, b.x = ..., rule.hidden += ...
    def visit_Assign(self, node):
        for target in node.targets:
            self._check_target(target)
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        self._check_target(node.target)
        self.generic_visit(node)

    def visit_AnnAssign(self, node):
        self._check_target(node.target)
        self.generic_visit(node)

    def _check_target(self, target):
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._check_target(element)
        elif isinstance(target, ast.Starred):
            self._check_target(target.value)
        elif isinstance(target, ast.Attribute) and target.attr in COLUMNS and ast.unparse(target.value) not in COUNTERS:
            self.flag(target, f"assigns {ast.unparse(target)}")

    def visit_Call(self, node):
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name == "setattr" and len(node.args) >= 2 and _constant(node.args[1]) in COLUMNS:
            self.flag(node, f"setattr(..., {node.args[1].value!r}, ...)")
        if (name in WRITE_METHODS and _about_rules(node.func)) or name == "Rule":
            for keyword in node.keywords:
                if keyword.arg in COLUMNS:
                    self.flag(node, f"{name}({keyword.arg}=...)")
                elif keyword.arg in (None, "defaults", "create_defaults") and isinstance(keyword.value, ast.Dict):
                    for key in keyword.value.keys:
                        if _constant(key) in COLUMNS:
                            self.flag(node, f"{name}(... {key.value!r}: ...)")
                elif keyword.arg is None:  # **columns: which ones is only known at run time
                    self.flag(node, f"{name}(**{ast.unparse(keyword.value)}) cannot be checked here")
        for keyword in node.keywords:
            if keyword.arg == "update_fields" and not _receiver_is_counter(node.func):
                self._check_fields(node, "update_fields", keyword.value)
        if name == "bulk_update":
            fields = (
                node.args[1]
                if len(node.args) >= 2
                else next((k.value for k in node.keywords if k.arg == "fields"), None)
            )
            if fields is not None:
                self._check_fields(node, "bulk_update fields", fields)
        self.generic_visit(node)

    def _check_fields(self, node, what: str, expression) -> None:
        names = _field_names(expression, self.constants)
        if names is None:
            self.flag(node, f"{what} cannot be checked here: list the fields literally or as a module constant")
        elif names & COLUMNS:
            self.flag(node, f"{what} include {', '.join(sorted(names & COLUMNS))}")

    def visit_Constant(self, node):
        if isinstance(node.value, str) and RAW_SQL_WRITE.search(node.value):
            self.flag(node, f"raw SQL sets a column: {node.value.strip()[:80]!r}")


def _constant(node):
    return node.value if isinstance(node, ast.Constant) else None


def _about_rules(func) -> bool:
    """False only for `<OtherModel>.objects.<method>`: any other receiver may be a rule queryset."""
    node = func.value if isinstance(func, ast.Attribute) else None
    while isinstance(node, (ast.Attribute, ast.Call)):
        if isinstance(node, ast.Attribute) and node.attr == "objects" and isinstance(node.value, ast.Name):
            return node.value.id == "Rule"
        node = node.func if isinstance(node, ast.Call) else node.value
    return True


def _receiver_is_counter(func) -> bool:
    return isinstance(func, ast.Attribute) and ast.unparse(func.value) in COUNTERS


def _field_names(expression, constants: dict) -> set[str] | None:
    """The field names a list expression holds, following module constants; None when it can't be told."""
    if isinstance(expression, ast.Constant) and isinstance(expression.value, str):
        return {expression.value}
    if isinstance(expression, (ast.List, ast.Tuple, ast.Set)):
        names: set[str] = set()
        for element in expression.elts:
            found = _field_names(element.value if isinstance(element, ast.Starred) else element, constants)
            if found is None:
                return None
            names |= found
        return names
    if isinstance(expression, ast.BinOp) and isinstance(expression.op, ast.Add):
        left, right = _field_names(expression.left, constants), _field_names(expression.right, constants)
        return None if left is None or right is None else left | right
    if isinstance(expression, ast.Name) and isinstance(constants.get(expression.id), (list, tuple, set, frozenset)):
        return {str(name) for name in constants[expression.id]}
    return None


def writes_in_source(text: str, constants: dict | None = None) -> list[tuple[int, str]]:
    visitor = _Writes(constants or {})
    visitor.visit(ast.parse(text))
    return sorted(visitor.found)


def writes_in(path: Path) -> list[str]:
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    constants = vars(importlib.import_module(module))
    found = writes_in_source(path.read_text(encoding="utf-8"), constants)
    return [f"{path.relative_to(ROOT)}:{line}: {what}" for line, what in found]


# -- the code ---------------------------------------------------------------------------------------------
def test_no_module_but_visibility_writes_hidden_or_retired():
    modules = sorted(p for p in CATALOG.rglob("*.py") if p != ONE_WRITER)
    assert len(modules) > 40  # the whole package is read, not an empty glob
    found = [write for path in modules for write in writes_in(path)]
    assert found == [], "write hidden/retired only through catalog.publishing.visibility.set_visibility:\n" + "\n".join(
        found
    )


def test_the_checker_sees_the_one_writer_write():
    """Run over catalog/publishing/visibility.py, the checker flags its UPDATE: it reads real code, not nothing."""
    assert [w for w in writes_in(ONE_WRITER) if "update(**target" in w]


FIELDS = ["note", "hidden"]


@pytest.mark.parametrize(
    "code",
    [
        "rule.hidden = True",
        "rule.retired, rule.path = False, 'x'",
        "self.rule.hidden |= flag",
        "setattr(rule, 'retired', True)",
        "Rule.objects.filter(pk=1).update(hidden=True)",
        "queryset.update(retired=True, last_changed_run=run)",
        "rules.update(**{'hidden': True})",
        "rules.update(**changes)",
        "Rule.objects.create(uuid=u, hidden=True)",
        "Rule.objects.update_or_create(uuid=u, defaults={'retired': False})",
        "Rule(uuid=u, title='t', retired=True)",
        "rule.save(update_fields=['note', 'hidden'])",
        "rule.save(update_fields=[*FIELDS, 'tag_text'])",
        "rule.save(update_fields=fields_from_somewhere())",
        "Rule.objects.bulk_update(rules, ['retired'])",
        "Rule.objects.bulk_update(rules, fields=FIELDS + ['x'])",
        "cursor.execute('UPDATE catalog_rule SET note = %s, hidden = %s WHERE id = %s')",
        "cursor.execute(f'UPDATE {table} SET \"retired\" = TRUE')",
    ],
)
def test_the_checker_catches_every_kind_of_write(code):
    assert writes_in_source(code, {"FIELDS": FIELDS}), code


@pytest.mark.parametrize(
    "code",
    [
        "Rule.objects.filter(hidden=False, retired=False)",
        "Rule.objects.exclude(retired=True).values_list('hidden')",
        "live = rule.retired or rule.hidden",
        "run.retired = report.retired",
        "self.report.retired += len(gone)",
        "run.save(update_fields=['retired'])",
        "ImportRun.objects.create(started_at=now, retired=0)",
        "Edit(hidden=True)",
        "set_visibility(rules, hidden=True)",
        "rule.save(update_fields=['note', 'tag_text'])",
        "ImportJob.objects.filter(pk=1).update(status=s, **fields)",
        "cursor.execute('SELECT hidden FROM catalog_rule WHERE retired')",
    ],
)
def test_the_checker_lets_reads_and_other_counters_pass(code):
    assert writes_in_source(code, {"FIELDS": FIELDS}) == [], code


# -- the behaviour ------------------------------------------------------------------------------------------
@pytest.fixture
def imported(examples, db):
    from catalog.importing.importer import import_paths

    report = import_paths([str(examples)], source="examples")
    assert not report.errors
    return report


@pytest.fixture
def watched(imported):
    """A rule of the examples, one indicator it carries, and the counts and version before a change."""
    from catalog.models import CatalogVersion, Indicator, Rule

    rule = Rule.objects.filter(source__name="examples", rule_indicators__isnull=False).order_by("uuid").first()
    indicator = Indicator.objects.filter(rule_indicators__rule=rule).order_by("pk").first()
    assert indicator.corpus_count >= 1

    class Watched:
        def __init__(self):
            self.rule, self.indicator = rule, indicator
            self.count, self.version = indicator.corpus_count, CatalogVersion.current()

        def assert_hidden(self, hidden: bool):
            rule.refresh_from_db()
            indicator.refresh_from_db()
            assert rule.hidden is hidden
            assert indicator.corpus_count == self.count - (1 if hidden else 0)
            assert CatalogVersion.current() > self.version
            self.version = CatalogVersion.current()

    return Watched()


@pytest.fixture
def superuser(django_user_model, client):
    user = django_user_model.objects.create_superuser("root", password="x")
    client.force_login(user)
    return user


def test_the_admin_bulk_actions_recount_and_bump(client, superuser, watched):
    for action, hidden in (("hide", True), ("unhide", False)):
        response = client.post(
            "/admin/catalog/rule/", {"action": action, "_selected_action": [watched.rule.pk], "index": 0}
        )
        assert response.status_code == 302
        watched.assert_hidden(hidden)


def test_the_admin_form_recounts_and_bumps(client, superuser, watched):
    from tests.curation.test_admin import form_data

    url = f"/admin/catalog/rule/{watched.rule.pk}/change/"
    for hidden in (True, False):
        response = client.post(url, form_data(client.get(url), hidden="on" if hidden else False))
        assert response.status_code == 302
        watched.assert_hidden(hidden)


def test_curate_recounts_and_bumps(watched):
    for flag, hidden in (("--hide", True), ("--unhide", False)):
        call_command("curate", str(watched.rule.uuid), flag, stdout=StringIO())
        watched.assert_hidden(hidden)


def test_import_curation_recounts_and_bumps(watched, tmp_path):
    for hidden in (True, False):
        path = tmp_path / f"curation-{hidden}.json"
        path.write_text(json.dumps({str(watched.rule.uuid): {"hidden": hidden}}), encoding="utf-8")
        call_command("import_curation", str(path), stdout=StringIO(), stderr=StringIO())
        watched.assert_hidden(hidden)


def test_set_visibility_recounts_bumps_and_reports_what_changed(watched):
    from catalog.models import CatalogVersion, Rule
    from catalog.publishing.visibility import set_visibility

    rules = Rule.objects.filter(pk=watched.rule.pk)
    assert set_visibility(rules, hidden=True) == 1
    watched.assert_hidden(True)
    assert set_visibility(rules, hidden=True) == 0  # already so: no recount, no bump
    assert CatalogVersion.current() == watched.version
    assert set_visibility(rules, hidden=False) == 1
    watched.assert_hidden(False)


def test_changes_inside_deferred_are_published_once_at_the_end(watched):
    from catalog.models import CatalogVersion, Rule
    from catalog.publishing.visibility import deferred, set_visibility

    rules = Rule.objects.filter(pk=watched.rule.pk)
    with deferred():
        set_visibility(rules, hidden=True)
        set_visibility(rules, retired=True)
        watched.indicator.refresh_from_db()
        assert watched.indicator.corpus_count == watched.count  # not yet recounted
        assert CatalogVersion.current() == watched.version
    watched.indicator.refresh_from_db()
    assert watched.indicator.corpus_count == watched.count - 1
    assert CatalogVersion.current() == watched.version + 1  # one bump for the whole block
