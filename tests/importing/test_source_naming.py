"""One repository is one source, whichever route imported it (issue 21, rough edge 10).

`CATALOG_RULE_PATHS=.../rules:.../rules-emerging-threats make run` imports each folder without a name;
the README's `import_rules ... --source sigmahq` names them. On one database the second route used to
fail with a "duplicate id" error per rule (3,614 on SigmaHQ), because the first had named a source after
each folder ("rules", "rules-emerging-threats"). Both orders are tested here, on a repository laid out
like SigmaHQ's (the example rules split into its two main folders), and once on SigmaHQ's own folders.
"""

import shutil
from pathlib import Path

import pytest
from django.core.management import call_command

from catalog.importing.importer import import_paths
from catalog.importing.naming import derived_name, repository_root
from catalog.models import Rule, Source
from tests.constants import CORPUS, EXAMPLE_RULES, ROOT

pytestmark = pytest.mark.django_db


@pytest.fixture
def sigma_checkout(examples, tmp_path):
    """A checkout laid out like SigmaHQ's: rules/ (the Windows examples), rules-emerging-threats/ (the rest)."""
    checkout = tmp_path / "checkout"
    (checkout / "rules").mkdir(parents=True)
    shutil.move(examples / "windows", checkout / "rules" / "windows")
    shutil.move(examples, checkout / "rules-emerging-threats")
    return checkout


def folders(checkout) -> list[str]:
    return [str(checkout / "rules"), str(checkout / "rules-emerging-threats")]


def make_run_route(checkout) -> list:
    """What `make run` does with CATALOG_RULE_PATHS: one `import_rules PATH` per folder, no name."""
    return [import_paths([folder]) for folder in folders(checkout)]


def readme_route(checkout):
    return import_paths(folders(checkout), source="sigmahq")


def sources_of_the_checkout() -> list[str]:
    return sorted(Source.objects.exclude(rules__isnull=True).exclude(name="examples").values_list("name", flat=True))


def assert_one_source(report, pks_before):
    assert not report.errors, [str(p) for p in report.errors[:3]]
    assert (report.created, report.updated, report.retired, report.unchanged) == (0, 0, 0, EXAMPLE_RULES)
    assert sources_of_the_checkout() == ["sigmahq"]
    assert set(Rule.objects.filter(source__name="sigmahq").values_list("pk", flat=True)) == pks_before


def test_make_run_then_readme_route(sigma_checkout):
    reports = make_run_route(sigma_checkout)
    assert not any(r.errors for r in reports)
    assert sources_of_the_checkout() == ["sigmahq"]  # named after the repository, not after each folder
    pks = set(Rule.objects.filter(source__name="sigmahq").values_list("pk", flat=True))
    assert len(pks) == EXAMPLE_RULES
    assert_one_source(readme_route(sigma_checkout), pks)


def test_readme_then_make_run_route(sigma_checkout):
    first = readme_route(sigma_checkout)
    assert not first.errors and first.created == EXAMPLE_RULES
    pks = set(Rule.objects.filter(source__name="sigmahq").values_list("pk", flat=True))
    rules_folder, threats_folder = make_run_route(sigma_checkout)
    assert not rules_folder.errors and not threats_folder.errors
    assert rules_folder.created == threats_folder.created == 0 and rules_folder.updated == threats_folder.updated == 0
    assert sources_of_the_checkout() == ["sigmahq"]
    assert set(Rule.objects.filter(source__name="sigmahq").values_list("pk", flat=True)) == pks


def test_sources_named_after_their_folders_are_taken_over_by_either_route(sigma_checkout):
    # A database from before: the make-run route named one source per folder.
    for folder in folders(sigma_checkout):
        assert not import_paths([folder], source=Path(folder).name).errors
    assert sources_of_the_checkout() == ["rules", "rules-emerging-threats"]
    curated = Rule.objects.filter(source__name="rules").first()
    Rule.objects.filter(pk=curated.pk).update(note="keep me")
    pks = set(Rule.objects.filter(source__name__in=["rules", "rules-emerging-threats"]).values_list("pk", flat=True))
    assert_one_source(readme_route(sigma_checkout), pks)  # the README's route: was 35 "duplicate id" errors
    assert Rule.objects.get(pk=curated.pk).note == "keep me"
    assert Source.objects.get(name="sigmahq").roots == sorted(str(Path(f).resolve()) for f in folders(sigma_checkout))


def test_legacy_folder_sources_merge_on_the_next_make_run(sigma_checkout):
    for folder in folders(sigma_checkout):
        import_paths([folder], source=Path(folder).name)
    for report in make_run_route(sigma_checkout):
        assert not report.errors and report.created == report.updated == 0
    assert sources_of_the_checkout() == ["sigmahq"]


def test_a_name_given_later_renames_the_source_and_is_kept(examples, tmp_path):
    repository = tmp_path / "acme-detections"
    (repository / ".git").mkdir(parents=True)
    shutil.move(examples, repository / "sigma")
    assert not import_paths([str(repository / "sigma")]).errors
    assert sources_of_the_checkout() == ["acme-detections"]
    report = import_paths([str(repository / "sigma")], source="acme")
    assert not report.errors and report.unchanged == EXAMPLE_RULES
    assert sources_of_the_checkout() == ["acme"]
    again = import_paths([str(repository / "sigma")])  # unnamed again: the folder keeps its source
    assert not again.errors and again.unchanged == EXAMPLE_RULES and sources_of_the_checkout() == ["acme"]


def test_part_of_a_source_given_another_name_moves_alone(sigma_checkout):
    readme_route(sigma_checkout)
    report = import_paths([str(sigma_checkout / "rules-emerging-threats")], source="threats")
    assert not report.errors and report.created == report.updated == 0
    assert sources_of_the_checkout() == ["sigmahq", "threats"]
    assert Source.objects.get(name="sigmahq").roots == [str((sigma_checkout / "rules").resolve())]
    assert not Rule.objects.filter(source__name="sigmahq", path__startswith="rules-emerging-threats/").exists()


def test_another_source_claiming_an_id_from_elsewhere_is_still_an_error(sigma_checkout, tmp_path):
    readme_route(sigma_checkout)
    fork = tmp_path / "fork"
    shutil.copytree(sigma_checkout / "rules", fork)
    report = import_paths([str(fork)], source="fork")  # another folder: its ids belong to sigmahq
    assert report.errors and "already defined in sigmahq:rules/" in report.errors[0].message


def test_derived_names(tmp_path, settings):
    assert derived_name((ROOT / "rules").resolve()) == "examples"
    clone = tmp_path / "sigma"
    (clone / "rules" / "windows").mkdir(parents=True)
    (clone / ".git").mkdir()
    (clone / ".git" / "config").write_text(
        '[core]\n\tbare = false\n[remote "origin"]\n\turl = https://github.com/SigmaHQ/sigma.git\n'
    )
    assert repository_root(clone / "rules" / "windows") == clone
    assert derived_name(clone / "rules" / "windows") == "sigmahq"  # from the remote: the folder is called sigma
    plain = tmp_path / "My Rules"
    (plain / "rules").mkdir(parents=True)
    assert derived_name(plain / "rules") == "my-rules"
    loose = tmp_path / "loose"
    loose.mkdir()
    assert derived_name(loose) == "loose"


@pytest.mark.skipif(not CORPUS.is_dir(), reason="needs the SigmaHQ snapshot")
def test_sigmahq_folders_through_both_routes(corpus_dir, tmp_path):
    paths = [str(corpus_dir / "rules-emerging-threats"), str(corpus_dir / "rules-threat-hunting")]
    for path in paths:  # make run, CATALOG_RULE_PATHS: each folder alone, unnamed
        assert not import_paths([path]).errors
    assert Source.objects.filter(rules__isnull=False).exclude(name="examples").distinct().count() == 1
    out = tmp_path / "out.txt"
    with out.open("w") as stdout:  # the README's command
        call_command("import_rules", *paths, "--source", "sigmahq", stdout=stdout)
    summary = out.read_text()
    assert "0 created, 0 updated" in summary and "0 errors" in summary, summary
    assert list(
        Source.objects.filter(rules__isnull=False).exclude(name="examples").distinct().values_list("name", flat=True)
    ) == ["sigmahq"]
