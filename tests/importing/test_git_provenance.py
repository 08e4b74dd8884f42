"""Issue 23 §1, provenance per commit: /changes/, its feed and its JSON show the commits a git source's sync
imported, filtered by `?source=NAME` (the unfiltered URLs unchanged); the rule page links its file upstream at
the commit its content came from, and its history names the commit of each change."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from catalog.importing.syncing import add_source, sync
from catalog.models import ImportRun, Source
from tests.importing.git_repos import ALPHA, BETA, Upstream

pytestmark = pytest.mark.django_db
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def team(tmp_path, settings, example_rules):
    settings.CATALOG_SOURCES_DIR = str(tmp_path / "checkouts")
    repo = Upstream(tmp_path / "upstream")
    repo.write("detections/windows/alpha.yml", ALPHA, "Alpha Tool Run")
    repo.write("detections/windows/beta.yml", BETA, "Beta Tool Run")
    repo.first = repo.commit("two rules")
    source, _ = add_source("team", repo.url, paths=["detections/windows"])
    assert sync(source).ok
    repo.write("detections/windows/alpha.yml", ALPHA, "Alpha Tool Run", level="low")
    repo.second = repo.commit("alpha: <lower> the level")
    assert sync(source).ok
    # Where the repository is published: rule and commit links go to its forge.
    Source.objects.filter(pk=source.pk).update(base_url="https://github.com/acme/rules/blob/main/")
    return repo


def test_changes_filter_by_source_and_show_the_commits(client, team):
    page = client.get("/changes/", {"source": "team"}).content.decode()
    assert "Changes of team" in page
    assert (
        f'<a href="https://github.com/acme/rules/commit/{team.second}" rel="noopener"><code>{team.second[:12]}</code>'
        in page
    )
    assert "alpha: &lt;lower&gt; the level" in page  # the commit's subject, escaped
    examples_run = ImportRun.objects.filter(source_rows__name="examples").latest("pk")
    assert f'id="run-{examples_run.pk}"' not in page
    assert f'id="run-{examples_run.pk}"' in client.get("/changes/").content.decode()  # the unfiltered page as before
    assert "No import of nobody has changed the catalog." in client.get("/changes/?source=nobody").content.decode()


def test_the_changes_json_and_feed_carry_the_commits(client, team):
    answer = client.get("/api/changes/", {"source": "team"}).json()
    assert answer["count"] == 2 and all(run["sources"] == ["team"] for run in answer["results"])
    newest = answer["results"][0]
    assert (newest["commit"], newest["previous_commit"]) == (team.second, team.first)
    assert newest["commits"] == [
        {
            "sha": team.second,
            "subject": "alpha: <lower> the level",
            "author": "Test Author",
            "date": newest["commits"][0]["date"],
            "url": f"https://github.com/acme/rules/commit/{team.second}",
        }
    ]
    feed = ET.fromstring(client.get("/changes/feed/", {"source": "team"}).content)
    assert feed.find(f"{ATOM}title").text == "Sigma rule catalog: changes of team"
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 2 and team.second[:12] in entries[0].find(f"{ATOM}summary").text
    assert len(ET.fromstring(client.get("/changes/feed/").content).findall(f"{ATOM}entry")) > 2  # all sources


def test_the_rule_page_links_its_file_at_its_commit_and_its_history_names_the_change_commit(client, team):
    page = client.get(f"/rules/{ALPHA}/").content.decode()
    upstream = f"https://github.com/acme/rules/blob/{team.second}/detections/windows/alpha.yml"
    assert f'href="{upstream}"' in page
    assert f'at commit <a href="https://github.com/acme/rules/commit/{team.second}"' in page
    history = page[page.index('id="history"') :]
    assert f'· commit <a href="https://github.com/acme/rules/commit/{team.second}"' in history
    beta = client.get(f"/rules/{BETA}/").content.decode()  # unchanged since the first commit: linked there
    assert f"https://github.com/acme/rules/blob/{team.first}/detections/windows/beta.yml" in beta
