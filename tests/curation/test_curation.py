"""Curation survives re-imports, round-trips through export/import, and every change is logged.

Also: the `curate` command's errors, the rule history (versions and diffs) and /changes/.
"""

import json
import uuid as uuid_module
from io import StringIO

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import CommandError, call_command
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse

from catalog.changes.history import rule_history
from catalog.curation.edits import Edit, apply_edit
from catalog.curation.fields import CurationError, curated_rules, curation_of
from catalog.curation.tags import add_local_tag, remove_local_tag
from catalog.importing.importer import import_paths
from catalog.models import CURATION_FIELDS, Rule, RuleVersion
from catalog.publishing.deletion import deleting
from tests.constants import CERTUTIL, CERTUTIL_ID, EXAMPLE_RULES, SSH, SSH_ID

pytestmark = pytest.mark.django_db

CERTUTIL_NEW_TITLE = "Certutil Downloading Remote Content Through Its URL Cache"


def import_examples(examples):
    report = import_paths([str(examples)], source="examples")
    assert not report.errors, [str(p) for p in report.errors]
    return report


def edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def change_certutil(examples):
    """New title, a changed detection value, a new Sigma tag and some HTML-looking text."""
    path = examples / CERTUTIL
    edit(
        path,
        "title: Certutil Fetching Remote Content Via URL Cache Or CTL Verification",
        f"title: {CERTUTIL_NEW_TITLE}",
    )
    edit(path, "- 'ftp://'", "- 'ftps://'")
    edit(path, "    - attack.t1105\n", "    - attack.t1105\n    - attack.s0160\n")
    edit(path, "second stage payloads.", "second stage <b>payloads</b>.")


def curate(rule_id, **options):
    out = StringIO()
    call_command("curate", rule_id, stdout=out, **options)
    return out.getvalue()


def rule(rule_id):
    return Rule.objects.get(uuid=rule_id)


def export(tmp_path, name="curation.json"):
    target = tmp_path / name
    call_command("export_curation", output=str(target), stderr=StringIO())
    return json.loads(target.read_text(encoding="utf-8"))


def import_curation(path, **options):
    out, err = StringIO(), StringIO()
    try:
        call_command("import_curation", str(path), stdout=out, stderr=err, **options)
    except CommandError as exc:
        return out.getvalue(), err.getvalue(), exc
    return out.getvalue(), err.getvalue(), None


@pytest.fixture
def carol(django_user_model):
    return django_user_model.objects.create_user("carol", password="x")


def curate_examples(carol):
    curate(
        CERTUTIL_ID,
        note="Seen in the Q3 incident",
        verify=True,
        add_tags=["local.reviewed"],
        remove_tags=["attack.t1105"],
        level="critical",
        fp_note="SCCM refreshes CRLs nightly",
        user="carol",
    )
    curate(SSH_ID, hide=True, note="Too noisy on jump hosts", user="carol")


# -- curation survives re-imports ------------------------------------------------------------------
def test_curation_survives_a_reimport_that_changes_the_sigma_content(examples, carol, client):
    import_examples(examples)
    curate_examples(carol)
    before = {rid: curation_of(rule(rid)) for rid in (CERTUTIL_ID, SSH_ID)}
    assert before[CERTUTIL_ID]["verified_by"] == "carol" and before[CERTUTIL_ID]["verified_at"]

    change_certutil(examples)
    edit(examples / SSH, "title: SSH Client Started", "title: OpenSSH Client Started")
    edit(examples / SSH, "    - attack.t1572\n", "    - attack.t1572\n    - attack.t1021.004\n")
    report = import_examples(examples)
    assert (report.updated, report.created) == (2, 0)

    certutil = rule(CERTUTIL_ID)
    # The new Sigma content is in...
    assert certutil.title == CERTUTIL_NEW_TITLE
    assert "'ftps://'" in certutil.yaml_text
    written = set(certutil.rule_indicators.values_list("written", flat=True))
    assert "ftps://" in written and "ftp://" not in written
    assert certutil.tags == ["attack.command-and-control", "attack.t1105", "attack.s0160"]
    # ...and every piece of curation is intact, applied to the new tags.
    assert curation_of(certutil) == before[CERTUTIL_ID]
    assert certutil.effective_tags == ["attack.command-and-control", "attack.s0160", "local.reviewed"]
    assert certutil.tag_text == "|attack.command-and-control|attack.s0160|local.reviewed|"
    assert certutil.effective_level == "critical"
    assert Rule.objects.filter(tag_text__contains="|local.reviewed|").get() == certutil
    assert not Rule.objects.filter(uuid=CERTUTIL_ID, tag_text__contains="|attack.t1105|").exists()

    ssh = rule(SSH_ID)
    assert ssh.title.startswith("OpenSSH Client Started") and "attack.t1021.004" in ssh.tags
    assert curation_of(ssh) == before[SSH_ID]
    assert ssh.hidden
    try:
        url = reverse("browse:rule-detail", kwargs={"rule_uuid": SSH_ID})
    except NoReverseMatch:  # the public rule page is another module's; when it is routed, it must 404
        return
    assert client.get(url).status_code == 404
    assert client.get(reverse("browse:rule-detail", kwargs={"rule_uuid": CERTUTIL_ID})).status_code == 200


def test_export_catalog_carries_the_curation(examples, carol, export_catalog):
    import_examples(examples)
    curate_examples(carol)
    records = export_catalog()
    certutil = records[CERTUTIL_ID]["curation"]
    assert certutil["note"] == "Seen in the Q3 incident"
    assert certutil["verified"] is True and certutil["verified_by"] == "carol"
    assert certutil["local_tags_added"] == ["local.reviewed"]
    assert certutil["local_tags_removed"] == ["attack.t1105"]
    assert certutil["level_override"] == "critical"
    assert certutil["fp_note"] == "SCCM refreshes CRLs nightly"
    assert set(certutil) == set(CURATION_FIELDS)
    assert records[SSH_ID]["curation"]["hidden"] is True


# -- the curate command ------------------------------------------------------------------------------
def test_curate_records_who_and_what_in_the_admin_history(examples, carol):
    import_examples(examples)
    out = curate(CERTUTIL_ID, note="checked", verify=True, user="carol")
    assert "changed note, verified" in out
    entry = LogEntry.objects.filter(object_id=str(rule(CERTUTIL_ID).pk)).latest("action_time")
    assert entry.user == carol and entry.is_change()
    assert entry.get_change_message() == "Changed Note, Verified, Verified by and Verified at."

    # Nothing to change: nothing logged.
    assert "nothing changed" in curate(CERTUTIL_ID, note="checked", verify=True, user="carol")
    assert LogEntry.objects.filter(object_id=str(rule(CERTUTIL_ID).pk)).count() == 1

    # Without --user the change is recorded under the inactive "system" account.
    call_command("curate", CERTUTIL_ID, "--unverify", stdout=StringIO())
    certutil = rule(CERTUTIL_ID)
    assert (certutil.verified, certutil.verified_by, certutil.verified_at) == (False, "", None)
    entry = LogEntry.objects.filter(object_id=str(certutil.pk)).latest("action_time")
    assert entry.user.username == "system" and not entry.user.is_active and not entry.user.has_usable_password()


def test_curate_command_line_flags(examples):
    import_examples(examples)
    call_command(
        "curate", SSH_ID, "--hide", "--add-tag", "local.a", "--add-tag", "local.b", "--level", "LOW", stdout=StringIO()
    )
    ssh = rule(SSH_ID)
    assert ssh.hidden and ssh.local_tags_added == ["local.a", "local.b"] and ssh.level_override == "low"
    call_command("curate", SSH_ID, "--unhide", "--remove-tag", "local.a", "--level", "none", stdout=StringIO())
    ssh = rule(SSH_ID)
    assert not ssh.hidden and ssh.local_tags_added == ["local.b"] and ssh.level_override == ""
    out = StringIO()
    call_command("curate", SSH_ID, stdout=out)  # no change option: shows the curation
    assert "local_tags_added: ['local.b']" in out.getvalue()


@pytest.mark.parametrize(
    "args, message",
    [
        (["not-a-uuid", "--note", "x"], "is not a rule id"),
        ([str(uuid_module.uuid4()), "--note", "x"], "no rule with id"),
        ([CERTUTIL_ID, "--level", "urgent"], "invalid level 'urgent'"),
        ([CERTUTIL_ID, "--add-tag", "two words"], "invalid tag"),
        ([CERTUTIL_ID, "--note", "x", "--user", "nobody"], "unknown user 'nobody'"),
    ],
)
def test_curate_errors_are_clear_and_change_nothing(examples, args, message):
    import_examples(examples)
    with pytest.raises(CommandError, match=message):
        call_command("curate", *args, stdout=StringIO())
    assert rule(CERTUTIL_ID).note == "" and not LogEntry.objects.exists()


def test_local_tag_rules():
    r = Rule(tags=["attack.t1059", "attack.execution"])
    remove_local_tag(r, "ATTACK.T1059")
    assert r.local_tags_removed == ["ATTACK.T1059"] and r.effective_tags == ["attack.execution"]
    add_local_tag(r, "attack.t1059")  # adding it back undoes the removal
    assert r.local_tags_removed == [] and r.local_tags_added == []
    add_local_tag(r, "local.x")
    add_local_tag(r, "LOCAL.X")
    assert r.local_tags_added == ["local.x"]
    remove_local_tag(r, "local.x")  # a local addition is just dropped
    assert r.local_tags_added == [] and r.local_tags_removed == []
    assert r.tag_text == "|attack.t1059|attack.execution|"
    for bad in ["", "a b", "a,b", "a|b"]:
        with pytest.raises(CurationError):
            add_local_tag(r, bad)


# -- export and import -------------------------------------------------------------------------------
def test_curation_round_trips_into_a_rebuilt_catalog(examples, carol, tmp_path):
    import_examples(examples)
    curate_examples(carol)
    curate(CERTUTIL_ID, level="none", user="carol")  # back to default: still curated by its other fields
    exported = export(tmp_path, "before.json")
    assert set(exported["rules"]) == {CERTUTIL_ID, SSH_ID}  # only curated rules
    assert (
        exported["rules"][CERTUTIL_ID]["title"] == "Certutil Fetching Remote Content Via URL Cache Or CTL Verification"
    )
    assert "ssh" not in json.dumps(exported["rules"][CERTUTIL_ID]).lower()
    # Sigma rules of the corpus carry no curation.
    assert not any(Rule.objects.get(uuid=k).source.name == "sigmahq" for k in exported["rules"])

    # Rebuild: the source's rules are gone and imported afresh, without curation.
    with deleting():
        Rule.objects.filter(source__name="examples").delete()
    report = import_examples(examples)
    assert report.created == EXAMPLE_RULES
    assert not curated_rules().filter(source__name="examples").exists()

    out, err, error = import_curation(tmp_path / "before.json", user="carol")
    assert error is None, err
    assert "2 entries: 2 changed, 0 unchanged, 0 unknown rule ids" in out
    after = export(tmp_path, "after.json")
    assert after["rules"] == exported["rules"]
    assert rule(SSH_ID).hidden and rule(CERTUTIL_ID).tag_text == "|attack.command-and-control|local.reviewed|"
    entries = LogEntry.objects.filter(object_id__in=[str(rule(i).pk) for i in (CERTUTIL_ID, SSH_ID)], user=carol)
    assert entries.count() == 2

    # Importing the same file again changes nothing, and logs nothing.
    out, err, error = import_curation(tmp_path / "before.json", user="carol")
    assert error is None and "0 changed, 2 unchanged" in out
    assert entries.count() == 2
    assert export(tmp_path, "again.json")["rules"] == exported["rules"]


def test_unknown_rule_ids_are_reported_and_nothing_is_applied_unless_allowed(examples, tmp_path):
    import_examples(examples)
    unknown = str(uuid_module.uuid4())
    path = tmp_path / "c.json"
    path.write_text(json.dumps({CERTUTIL_ID: {"note": "restored"}, unknown: {"hidden": True}}))
    out, err, error = import_curation(path)
    assert error is not None and "1 rule id(s) are not in the catalog; nothing imported" in str(error)
    assert f"unknown rule id {unknown}" in err
    assert rule(CERTUTIL_ID).note == ""

    out, err, error = import_curation(path, allow_missing=True)
    assert error is None
    assert f"unknown rule id {unknown}" in err  # still listed
    assert "1 changed, 0 unchanged, 1 unknown rule ids" in out
    assert rule(CERTUTIL_ID).note == "restored"


@pytest.mark.parametrize(
    "content, expected",
    [
        ('{"rules": 3', ["not valid JSON: Expecting ',' delimiter at line 1 column 12"]),
        ("[1, 2]", ["expected an object keyed by rule id"]),
        ('{"format": "other", "version": 1, "rules": {}}', ["format is 'other'"]),
        (
            json.dumps(
                {
                    "not-an-id": {},
                    CERTUTIL_ID: {
                        "level_override": "urgent",
                        "verified": "yes",
                        "notes": "typo",
                        "local_tags_added": "a,b",
                        "verified_at": "yesterday",
                    },
                    SSH_ID: "hidden",
                }
            ),
            [
                "rules['not-an-id']: not a rule id",
                f"rules['{CERTUTIL_ID}'].level_override: invalid level 'urgent'",
                f"rules['{CERTUTIL_ID}'].verified: expected true or false",
                f"rules['{CERTUTIL_ID}'].notes: unknown field",
                f"rules['{CERTUTIL_ID}'].local_tags_added: expected a list of tag strings",
                f"rules['{CERTUTIL_ID}'].verified_at: expected an ISO date and time or null",
                f"rules['{SSH_ID}']: expected an object of curation fields, got str",
            ],
        ),
    ],
)
def test_a_malformed_curation_file_is_rejected_with_what_is_wrong(examples, tmp_path, content, expected):
    import_examples(examples)
    path = tmp_path / "bad.json"
    path.write_text(content)
    out, err, error = import_curation(path)
    assert error is not None and "nothing imported" in str(error)
    for message in expected:
        assert message in err, err
    assert not curated_rules().exists()


def test_a_missing_curation_file_is_a_clear_error(tmp_path, db):
    out, err, error = import_curation(tmp_path / "nope.json")
    assert "cannot read" in str(error) and "No such file" in str(error)


# -- history -------------------------------------------------------------------------------------------
def test_a_reimport_with_changes_keeps_the_previous_version_and_shows_a_diff(examples):
    first = import_examples(examples)
    change_certutil(examples)
    second = import_examples(examples)
    certutil = rule(CERTUTIL_ID)
    version = RuleVersion.objects.get(rule=certutil)
    assert version.import_run_id == second.run_id and version.title.startswith("Certutil Fetching")

    with CaptureQueriesContext(connection) as queries:
        context = rule_history(certutil)
    assert len(queries) == 2
    [change] = context["history"]
    assert change.run.pk == second.run_id and change.title_changed
    assert (change.title_before, change.title_after) == (version.title, CERTUTIL_NEW_TITLE)
    added = [line.text for line in change.diff if line.css == "diff-added"]
    removed = [line.text for line in change.diff if line.css == "diff-removed"]
    assert "+            - 'ftps://'" in added and "-            - 'ftp://'" in removed
    assert f"+title: {CERTUTIL_NEW_TITLE}" in added and "+    - attack.s0160" in added
    assert [(i.field, i.kind, i.value) for i in change.indicators_added] == [("CommandLine", "match", "ftps://")]
    assert [(i.field, i.kind, i.value) for i in change.indicators_removed] == [("CommandLine", "match", "ftp://")]

    html = render_to_string("changes/_history.html", context)
    assert '<span class="diff-added">+            - &#x27;ftps://&#x27;</span>' in html
    assert '<span class="diff-removed">-            - &#x27;ftp://&#x27;</span>' in html
    assert "&lt;b&gt;payloads&lt;/b&gt;" in html and "<b>payloads" not in html
    assert f"?run={second.run_id}" in html

    # A second change: two entries, newest first, each diffed against what replaced it; still 2 queries.
    edit(examples / CERTUTIL, "- 'ftps://'", "- 'sftp://'")
    third = import_examples(examples)
    certutil = rule(CERTUTIL_ID)
    with CaptureQueriesContext(connection) as queries:
        context = rule_history(certutil)
    assert len(queries) == 2
    newest, older = context["history"]
    assert newest.run.pk == third.run_id and not newest.title_changed
    assert [i.value for i in newest.indicators_added] == ["sftp://"]
    assert [i.value for i in newest.indicators_removed] == ["ftps://"]
    assert [i.value for i in older.indicators_added] == ["ftps://"]
    assert first.run_id not in {newest.run.pk, older.run.pk}


def test_an_unchanged_rule_has_an_empty_history(examples):
    import_examples(examples)
    context = rule_history(rule(CERTUTIL_ID))
    assert context["history"] == []
    assert "No import has changed this rule" in render_to_string("changes/_history.html", context)


# -- /changes/ ------------------------------------------------------------------------------------------
def test_changes_page_feed_and_json_list_what_each_import_changed(examples, carol, client):
    import_examples(examples)
    curate(SSH_ID, hide=True, user="carol")
    change_certutil(examples)
    edit(examples / SSH, "title: SSH Client Started", "title: OpenSSH Client Started")
    (examples / "linux/builtin/lnx_syslog_audit_daemon_stopped.yaml").unlink()
    report = import_examples(examples)
    assert (report.updated, report.retired) == (2, 1)

    page = client.get("/changes/")
    assert page.status_code == 200
    html = page.content.decode()
    assert CERTUTIL_NEW_TITLE in html and "Linux Audit Daemon Stopped" in html
    assert "OpenSSH Client Started" not in html  # hidden rules leave no trace
    assert f"Import run #{report.run_id}" in html and 'href="/changes/feed/"' in html

    data = client.get("/api/changes/").json()
    newest = data["results"][0]
    assert newest["run"] == report.run_id
    assert newest["updated"]["count"] == 1  # the hidden rule is not counted
    assert [r["id"] for r in newest["updated"]["rules"]] == [CERTUTIL_ID]
    assert newest["updated"]["rules"][0]["title"] == CERTUTIL_NEW_TITLE
    assert newest["retired"]["count"] == 1 and newest["created"]["count"] == 0
    # The first import created 35 rules; one is hidden now, so 34 are listed.
    assert data["count"] >= 3 and data["results"][1]["created"]["count"] == 34

    single = client.get(f"/api/changes/?run={report.run_id}").json()
    assert single["run"] == report.run_id and single["updated"]["more"] == 0
    assert client.get(f"/changes/?run={report.run_id}").status_code == 200
    assert client.get("/changes/?run=999999").status_code == 404

    feed = client.get("/changes/feed/")
    assert feed.status_code == 200 and feed["Content-Type"].startswith("application/atom+xml")
    xml = feed.content.decode()
    assert "<feed" in xml and CERTUTIL_NEW_TITLE in xml and "OpenSSH Client Started" not in xml
    assert f"/changes/?run={report.run_id}" in xml


def test_changes_lists_are_capped_on_the_listing_and_complete_for_one_run(client, generated_rules):
    report = generated_rules(60)
    data = client.get("/api/changes/").json()
    listed = next(r for r in data["results"] if r["run"] == report.run_id)
    assert listed["created"]["count"] == 60
    assert len(listed["created"]["rules"]) == 50 and listed["created"]["more"] == 10
    full = client.get(f"/api/changes/?run={report.run_id}").json()
    assert len(full["created"]["rules"]) == 60


@pytest.mark.parametrize("url", ["/changes/", "/api/changes/", "/changes/feed/", "/changes/?page=2"])
def test_changes_pages_take_a_constant_number_of_queries(client, examples, url):
    import_examples(examples)
    path = examples / CERTUTIL

    def another_changing_import(n):
        path.write_text(path.read_text(encoding="utf-8") + f"# revision {n}\n", encoding="utf-8")
        assert import_examples(examples).updated == 1

    for n in range(11):  # more runs than fit on one page
        another_changing_import(n)
    counts = []
    for n in range(11, 13):
        another_changing_import(n)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 4, counts


def test_export_curation_writes_to_standard_output(examples):
    import_examples(examples)
    curate(CERTUTIL_ID, note="x")
    out = StringIO()
    call_command("export_curation", stdout=out)
    data = json.loads(out.getvalue())
    assert data["format"] == "sigma-catalog-curation" and data["version"] == 1
    assert list(data["rules"]) == [CERTUTIL_ID] and data["rules"][CERTUTIL_ID]["note"] == "x"


def test_importing_curation_invalidates_cached_pages(examples, tmp_path):
    from catalog.models import CatalogVersion

    import_examples(examples)
    path = tmp_path / "c.json"
    path.write_text(json.dumps({SSH_ID: {"hidden": True}}))
    before = CatalogVersion.current()
    import_curation(path)
    assert CatalogVersion.current() > before
    after = CatalogVersion.current()
    import_curation(path)  # nothing changed: cached pages stay valid
    assert CatalogVersion.current() == after


@pytest.mark.django_db
def test_hidden_rules_leave_the_corpus_counts(django_user_model):
    from catalog.models import Indicator

    indicator = Indicator.objects.get(
        field="Image", kind="ends_with", value="\\powershell.exe", transforms="", cased=False
    )
    before = indicator.corpus_count
    assert before == 2  # two example rules look for it
    user = django_user_model.objects.create_user("hunter")
    rule = Rule.objects.filter(rule_indicators__indicator=indicator).first()
    apply_edit(rule, Edit(hidden=True), user)
    indicator.refresh_from_db()
    assert indicator.corpus_count == before - 1
    apply_edit(rule, Edit(hidden=False), user)
    indicator.refresh_from_db()
    assert indicator.corpus_count == before
