"""New indicators are written with their corpus counts (catalog/importing/references.py), so that the recount when
an import is published has little left to fix: here, nothing, for a batch of new and changed rules."""

import pytest

from catalog.importing.importer import import_paths
from catalog.models import Indicator, Rule
from catalog.publishing.visibility import deferred, recount_corpus, set_visibility

pytestmark = pytest.mark.django_db


def counts() -> dict[int, tuple[int, int]]:
    return {pk: (n, x) for pk, n, x in Indicator.objects.values_list("pk", "corpus_count", "exclude_count")}


def add_values(path, *values: str) -> None:
    """A block the rule looks for and one it excludes, each with a value no other rule has."""
    looked, excluded = values
    text = path.read_text(encoding="utf-8").replace(
        "detection:",
        f"detection:\n    zq_looked:\n        CommandLine|contains: '{looked}'\n"
        f"    zq_excluded:\n        CommandLine|contains: '{excluded}'",
        1,
    )
    condition = next(line for line in text.splitlines() if line.strip().startswith("condition:"))
    path.write_text(
        text.replace(
            condition, condition.replace("condition: ", "condition: (zq_looked or ", 1) + ") and not zq_excluded"
        ),
        encoding="utf-8",
    )


def test_new_indicators_are_written_with_the_counts_the_recount_gives(examples):
    hidden_file, visible_file = sorted(examples.rglob("proc_creation_win_*.yml"))[:2]
    import_paths([str(examples)], source="ex")
    hidden = Rule.objects.get(source__name="ex", path=f"examples/{hidden_file.relative_to(examples).as_posix()}")
    set_visibility(Rule.objects.filter(pk=hidden.pk), hidden=True)
    add_values(hidden_file, "zq-hidden-looked", "zq-hidden-excluded")
    add_values(visible_file, "zq-visible-looked", "zq-visible-excluded")
    with deferred():  # the import's own recount waits for the end of this block
        report = import_paths([str(examples)], source="ex")
        written = counts()
        recount_corpus()
        assert counts() == written
    assert report.updated == 2 and not report.errors
    new = dict(Indicator.objects.filter(value__startswith="zq-").values_list("value", "corpus_count"))
    assert new == {"zq-visible-looked": 1, "zq-visible-excluded": 0, "zq-hidden-looked": 0, "zq-hidden-excluded": 0}
    excluded = Indicator.objects.get(value="zq-visible-excluded")
    assert excluded.exclude_count == 1


def linked_and_carried(folder) -> tuple[set, set]:
    """(rule id, indicator key) as the catalog links them, and as each file's rules carry them when prepared."""
    from catalog.core.sigma.loading import Limits
    from catalog.importing.preparing import PrepareItem, prepare_file
    from catalog.models import RuleIndicator

    files = sorted(p for p in folder.rglob("*") if p.suffix in (".yml", ".yaml"))
    prepared = [r for p in files for r in prepare_file(PrepareItem(p.read_bytes(), p.name, Limits())).rules]
    linked = RuleIndicator.objects.filter(rule__source__name="ex").values_list("rule__uuid", "indicator__key")
    return {(str(uuid), key) for uuid, key in linked}, {(r.uuid, row.key) for r in prepared for row in r.indicators}


@pytest.mark.parametrize("big_import", [0, 10**9])  # every existing key read at once, or looked up per batch
def test_an_import_keeping_few_indicator_keys_links_each_rule_to_its_own(examples, monkeypatch, big_import):
    """The importer keeps at most KEYS_KEPT indicator ids by key (memory stays bounded at any corpus size), then
    looks each batch's keys up: every rule still points at the indicators it carries, each created once."""
    from catalog.importing import importer, references

    monkeypatch.setattr(references, "KEYS_KEPT", 3)
    monkeypatch.setattr(references, "BIG_IMPORT", big_import)
    monkeypatch.setattr(importer, "WRITE_BATCH", 2)
    report = import_paths([str(examples)], source="ex")
    assert report.created > 10 and not report.errors
    linked, carried = linked_and_carried(examples)
    assert linked == carried and len(carried) > 50
    add_values(sorted(examples.rglob("*.yml"))[0], "zq-again-looked", "zq-again-excluded")  # existing keys and new
    assert import_paths([str(examples)], source="ex").updated == 1
    linked, carried = linked_and_carried(examples)
    assert linked == carried and Indicator.objects.filter(value="zq-again-looked").count() == 1
    assert Indicator.objects.values("key").distinct().count() == Indicator.objects.count()
