"""Issue 23 §1: rule sources synced from git repositories (add_source, sync_sources; provenance per commit).

Each test makes a local bare repository (file://) and a work clone in its tmp_path, with three tiny rules,
and syncs it through the commands an operator runs: add, sync, change a file and commit, delete a file and
commit, force-push, an unreachable URL. Nothing is mocked: the `git` binary runs as in production.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from catalog.importing.git_sources import Checkout, SourceSettingError, check_url
from catalog.importing.syncing import add_source, due_sources, sync
from catalog.models import ImportRun, Rule, RuleVersion, Source
from tests.importing.git_repos import ALPHA, BETA, GAMMA, OUTSIDE, Upstream

pytestmark = pytest.mark.django_db


@pytest.fixture
def upstream(tmp_path, settings):
    settings.CATALOG_SOURCES_DIR = str(tmp_path / "checkouts")
    repo = Upstream(tmp_path / "upstream")
    repo.write("rules/windows/alpha.yml", ALPHA, "Alpha Tool Run")
    repo.write("rules/windows/beta.yml", BETA, "Beta Tool Run")
    repo.write("rules/gamma.yml", GAMMA, "Gamma Tool Run")
    repo.write("drafts/outside.yml", OUTSIDE, "Outside Draft")
    repo.first = repo.commit("three rules and a draft")
    return repo


def run(command: str, *args: str) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def rule(uuid: str) -> Rule:
    return Rule.objects.get(uuid=uuid)


@pytest.fixture
def synced(upstream):
    out = run("add_source", "team", upstream.url, "--paths", "rules", "--interval", "1h")
    assert "added git source team" in out and f"cloned the default branch at {upstream.first[:12]}" in out
    return upstream


def test_add_source_clones_and_imports_the_folders_at_their_commit(synced):
    source = Source.objects.get(name="team")
    assert (source.git_url, source.git_paths, source.synced_commit) == (synced.url, ["rules"], synced.first)
    team = Rule.objects.filter(source=source)
    assert sorted(str(u) for u in team.values_list("uuid", flat=True)) == [ALPHA, BETA, GAMMA]  # not drafts/
    assert set(team.values_list("commit", flat=True)) == {synced.first}
    assert rule(ALPHA).path == "rules/windows/alpha.yml"
    run_row = ImportRun.objects.get(pk=rule(ALPHA).last_changed_run_id)
    assert run_row.commit == synced.first and run_row.commits[0]["subject"] == "three rules and a draft"
    assert list(run_row.source_rows.values_list("name", flat=True)) == ["team"]


def test_an_unchanged_sync_skips_the_import_and_says_so(synced):
    runs = ImportRun.objects.count()
    out = run("sync_sources", "team")
    assert f"still at {synced.first[:12]}, the commit imported last: import skipped" in out
    assert ImportRun.objects.count() == runs
    forced = run("sync_sources", "team", "--force")
    assert "3 files read; rules: 0 created, 0 updated, 3 unchanged" in forced
    assert ImportRun.objects.count() == runs + 1  # --force imports anyway (all unchanged)


def test_a_changed_file_updates_its_rule_and_the_version_carries_the_commit(synced):
    synced.write("rules/windows/alpha.yml", ALPHA, "Alpha Tool Run", level="low")
    second = synced.commit("alpha: lower the level")
    out = run("sync_sources", "team")
    assert f"{synced.first[:12]} -> {second[:12]}, 1 commit(s) in the folders" in out
    assert "0 created, 1 updated, 2 unchanged, 0 retired" in out
    alpha = rule(ALPHA)
    assert (alpha.level, alpha.commit) == ("low", second)
    version = RuleVersion.objects.get(rule=alpha)
    assert version.commit == second and "level: high" in version.yaml_text  # the content before the commit
    assert rule(BETA).commit == synced.first  # unchanged rules keep the commit their content came from
    latest = ImportRun.objects.get(pk=alpha.last_changed_run_id)
    assert (latest.commit, latest.previous_commit) == (second, synced.first)
    assert [c["sha"] for c in latest.commits] == [second]


def test_a_deleted_file_retires_its_rule(synced):
    synced.remove("rules/gamma.yml")
    synced.commit("gamma is gone")
    out = run("sync_sources", "team")
    assert "0 created, 0 updated, 2 unchanged, 1 retired" in out
    assert rule(GAMMA).retired and not rule(ALPHA).retired


def test_a_force_push_is_reset_to_and_reported(synced):
    synced.write("rules/windows/beta.yml", BETA, "Beta Tool Run", level="medium")
    dropped = synced.commit("beta: medium")
    run("sync_sources", "team")
    synced.reset_to(synced.first)  # history rewritten: the beta commit is gone upstream
    synced.write("rules/windows/alpha.yml", ALPHA, "Alpha Tool Run Renamed")
    rewritten = synced.commit("alpha: a new title", force=True)
    result = sync(Source.objects.get(name="team"))
    assert result.rewritten and result.ok
    assert f"was force-pushed: {dropped[:12]} is not an ancestor of {rewritten[:12]}" in result.summary()
    assert rule(ALPHA).title == "Alpha Tool Run Renamed" and rule(ALPHA).commit == rewritten
    assert rule(BETA).level == "high"  # the checkout is the new history's, not a merge of both
    assert Source.objects.get(name="team").synced_commit == rewritten


def test_an_unreachable_repository_is_a_clear_error_and_retires_nothing(synced, tmp_path):
    live = Rule.objects.filter(source__name="team", retired=False).count()
    runs = ImportRun.objects.count()
    add_source("team", (tmp_path / "gone.git").as_uri(), paths=["rules"])
    with pytest.raises(CommandError, match=r"team: cannot fetch file://.*gone\.git: .*Nothing was imported"):
        run("sync_sources", "team")
    assert Rule.objects.filter(source__name="team", retired=False).count() == live
    assert ImportRun.objects.count() == runs
    assert "cannot fetch" in Source.objects.get(name="team").last_sync_error


def test_no_network_fails_clearly_and_the_examples_keep_serving(client, tmp_path, settings, example_rules):
    """The README's first command without a network: a clear message, and the catalog serves what it had."""
    settings.CATALOG_SOURCES_DIR = str(tmp_path / "checkouts")
    settings.CATALOG_GIT_TOKENS = {"SIGMAHQ": "ghp_not-a-real-token-1234"}
    before = example_rules.count()
    with pytest.raises(CommandError) as failure:  # port 9 (discard) on this machine: refused, as offline
        run("add_source", "sigmahq", "https://127.0.0.1:9/SigmaHQ/sigma", "--paths", "rules")
    message = str(failure.value)
    assert "cannot fetch https://127.0.0.1:9/SigmaHQ/sigma" in message and "the catalog is unchanged" in message
    assert (
        "ghp_not-a-real-token" not in message
        and "ghp_not-a-real-token" not in Source.objects.get(name="sigmahq").last_sync_error
    )
    assert example_rules.count() == before
    assert client.get("/rules/").status_code == 200


@pytest.mark.parametrize(
    "url, message",
    [
        ("https://user:ghp_secret@github.com/o/r", "holds a credential"),
        ("https://ghp_secret@github.com/o/r", "holds a credential"),
        ("ext::sh -c touch% /tmp/pwned", "not a git URL"),
        ("--upload-pack=touch /tmp/pwned", "not a git URL"),
    ],
)
def test_urls_with_credentials_or_commands_are_refused(url, message):
    with pytest.raises(SourceSettingError, match=message):
        check_url(url)


def test_folder_names_and_branches_are_checked(upstream):
    with pytest.raises(SourceSettingError, match="without '.' or '..'"):
        add_source("team", upstream.url, paths=["../etc"])
    with pytest.raises(SourceSettingError, match="not a branch name"):
        add_source("team", upstream.url, branch="-x")
    with pytest.raises(SourceSettingError, match="a git source's name"):
        add_source("../team", upstream.url)
    assert not Source.objects.filter(git_url=upstream.url).exists()


def test_a_link_in_the_repository_is_a_plain_file_not_the_server_file_it_names(synced, tmp_path):
    secret = tmp_path / "secret.yml"
    secret.write_text("title: server secret\n")
    (synced.work / "rules" / "leak.yml").symlink_to(secret)
    synced.commit("a link out")
    with pytest.raises(CommandError, match="1 error"):  # the link's text is no rule: reported, not imported
        run("sync_sources", "team")
    checked_out = Checkout("team", synced.url).folder / "rules" / "leak.yml"
    assert not checked_out.is_symlink() and checked_out.read_text() == str(secret)
    assert not Rule.objects.filter(title="server secret").exists()


def test_due_sources_follow_each_interval(synced):
    from datetime import timedelta

    from django.utils import timezone

    source = Source.objects.get(name="team")
    assert due_sources() == []  # just synced, every hour
    assert due_sources(timezone.now() + timedelta(minutes=61)) == [source]
    assert "no git source to sync is due" in run("sync_sources", "--due")


def test_a_source_imported_from_folders_becomes_a_git_source_keeping_its_rules(upstream):
    """`make sigmahq` on a catalog whose SigmaHQ came from a local clone: the same rules, found unchanged."""
    from catalog.importing.importer import import_paths

    assert import_paths([str(upstream.work / "rules")], source="team").created == 3
    before = dict(Rule.objects.filter(source__name="team").values_list("uuid", "pk"))
    out = run("add_source", "team", upstream.url, "--paths", "rules")
    assert "git source team:" in out and "0 created, 0 updated, 3 unchanged, 0 retired" in out
    assert dict(Rule.objects.filter(source__name="team").values_list("uuid", "pk")) == before
    assert set(Rule.objects.filter(source__name="team").values_list("commit", flat=True)) == {upstream.first}
    assert Source.objects.get(name="team").roots == [str(Checkout("team", upstream.url).folder / "rules")]
