"""Links into a rule's repository (catalog/platform/repository_links.py): the file at a commit, a commit's page."""

import pytest

from catalog.platform.repository_links import commit_url, file_url, forge_repository, repository_path

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(
    "git_url, expected",
    [
        ("https://github.com/SigmaHQ/sigma", ("https://github.com/SigmaHQ/sigma", False)),
        ("https://github.com/SigmaHQ/sigma.git", ("https://github.com/SigmaHQ/sigma", False)),
        ("git@github.com:SigmaHQ/sigma.git", ("https://github.com/SigmaHQ/sigma", False)),
        ("ssh://git@gitlab.com/team/detections.git", ("https://gitlab.com/team/detections", True)),
        ("https://git.example.org/team/rules.git", None),  # an unknown forge: links need a base URL
        ("file:///srv/rules.git", None),
    ],
)
def test_forges_are_recognised_from_their_git_urls(git_url, expected):
    assert forge_repository(git_url) == expected


def test_a_rule_path_is_put_back_under_its_folder_in_the_repository():
    assert repository_path("rules/windows/a.yml", ["rules", "rules-emerging-threats"]) == "rules/windows/a.yml"
    assert repository_path("windows/a.yml", ["detections/windows"]) == "detections/windows/a.yml"
    assert repository_path("checkout/rules/a.yml", []) == "rules/a.yml"  # the whole repository imported


@pytest.mark.parametrize(
    "base_url, git_url, commit, expected",
    [
        # a plain source: its base URL + the path, as before git sources
        ("https://github.com/SigmaHQ/sigma/blob/master/", "", "", "https://github.com/SigmaHQ/sigma/blob/master/rules/a%20b.yml"),
        # a git source's commit replaces a GitHub or GitLab base URL's ref
        ("https://github.com/SigmaHQ/sigma/blob/master/", "https://github.com/SigmaHQ/sigma", SHA,
         f"https://github.com/SigmaHQ/sigma/blob/{SHA}/rules/a%20b.yml"),
        ("https://gitlab.com/t/r/-/blob/main/", "git@gitlab.com:t/r.git", SHA, f"https://gitlab.com/t/r/-/blob/{SHA}/rules/a%20b.yml"),
        # any forge, with {commit} in the base URL
        ("https://git.example.org/t/r/src/{commit}/", "ssh://git@git.example.org/t/r.git", SHA,
         f"https://git.example.org/t/r/src/{SHA}/rules/a%20b.yml"),
        # no base URL: the forge's own links, from the git URL
        ("", "git@github.com:SigmaHQ/sigma.git", SHA, f"https://github.com/SigmaHQ/sigma/blob/{SHA}/rules/a%20b.yml"),
        ("", "file:///srv/rules.git", SHA, ""),
        ("javascript:alert(1)//", "", "", ""),
        # not a commit id: never put into a link
        ("", "https://github.com/o/r", "main/../../evil", "https://github.com/o/r/blob/HEAD/rules/a%20b.yml"),
    ],
)  # fmt: skip
def test_file_links_name_the_commit_when_they_can(base_url, git_url, commit, expected):
    paths = ["rules"] if git_url else []
    assert file_url(base_url, git_url, paths, "rules/a b.yml", commit) == expected


def test_commit_links():
    assert commit_url("", "https://github.com/o/r.git", SHA) == f"https://github.com/o/r/commit/{SHA}"
    assert commit_url("https://gitlab.com/t/r/-/blob/main/", "", SHA) == f"https://gitlab.com/t/r/-/commit/{SHA}"
    assert commit_url("", "file:///srv/r.git", SHA) == ""
    assert commit_url("", "https://github.com/o/r", "not-a-sha") == ""
