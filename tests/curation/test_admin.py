"""Who may do what in the admin, and that curation through it is recorded and stays curation-only."""

import re

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.db.models import Count
from django.forms import CheckboxInput
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.importing.importer import import_paths
from catalog.models import ImportRun, Indicator, Rule, RuleIndicator, Source
from tests.constants import CERTUTIL, CERTUTIL_ID, EXAMPLE_FILES, EXAMPLE_RULES, corpus_paths

pytestmark = pytest.mark.django_db


def change_url(rule):
    return reverse("admin:catalog_rule_change", args=[rule.pk])


CHANGELIST = "/admin/catalog/rule/"


@pytest.fixture
def rule(example_rules):
    return example_rules.get(uuid=CERTUTIL_ID)


@pytest.fixture
def curator(django_user_model):
    user = django_user_model.objects.create_user("carol", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="curator"))
    return user


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("sam", password="x", is_staff=True)


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser("root", password="x")


def form_data(response, **changes):
    """What a browser would post back from a change page: the form as shown, plus `changes`."""
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = field.prepare_value(form.initial.get(name, field.initial))
        if isinstance(field.widget, CheckboxInput):
            if value:
                data[name] = "on"
        else:
            data[name] = "" if value is None else value
    # The inlines only display; their management counts are posted as rendered.
    html = response.content.decode()
    data.update(re.findall(r'name="([\w-]+-(?:TOTAL|INITIAL|MIN_NUM|MAX_NUM)_FORMS)" value="(\d*)"', html))
    for name, value in changes.items():
        if value is False:
            data.pop(name, None)
        else:
            data[name] = value
    return data


# -- anonymous ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["/admin/", CHANGELIST, "/admin/catalog/source/", "/admin/auth/user/"])
def test_anonymous_users_are_sent_to_the_login_page(client, url):
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/?next=")


def test_anonymous_users_cannot_post_curation(client, rule):
    response = client.post(change_url(rule), {"note": "x"})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    rule.refresh_from_db()
    assert rule.note == ""


# -- the curator group -----------------------------------------------------------------------------------
def test_the_curator_group_has_exactly_its_permissions(db):
    group = Group.objects.get(name="curator")
    assert sorted(group.permissions.values_list("content_type__app_label", "codename")) == [
        ("catalog", "add_telemetryprofile"),  # named telemetry profiles (issue 12)
        ("catalog", "change_rule"),
        ("catalog", "change_telemetryprofile"),
        ("catalog", "delete_telemetryprofile"),
        ("catalog", "view_importrun"),
        ("catalog", "view_indicator"),
        ("catalog", "view_rule"),
        ("catalog", "view_source"),
        ("catalog", "view_technique"),
        ("catalog", "view_telemetryprofile"),
    ]


def test_a_curator_changes_curation_but_never_sigma_fields(client, curator, rule):
    client.force_login(curator)
    assert client.get(CHANGELIST).status_code == 200
    page = client.get(change_url(rule))
    assert page.status_code == 200
    title, yaml_text, level = rule.title, rule.yaml_text, rule.level
    data = form_data(
        page,
        note="Reviewed with the SOC",
        verified="on",
        local_tags_added="local.reviewed, local.q3",
        level_override="critical",
        fp_note="Backup agent",
        title="Hacked title",
        yaml_text="title: x",
        level="low",
    )
    response = client.post(change_url(rule), data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    rule.refresh_from_db()
    assert (rule.note, rule.fp_note, rule.level_override) == ("Reviewed with the SOC", "Backup agent", "critical")
    assert rule.local_tags_added == ["local.reviewed", "local.q3"]
    assert "|local.reviewed|" in rule.tag_text and "|local.q3|" in rule.tag_text
    assert rule.verified and rule.verified_by == "carol" and rule.verified_at is not None
    # The Sigma fields are not form fields: posting them changes nothing.
    assert (rule.title, rule.yaml_text, rule.level) == (title, yaml_text, level)

    entry = LogEntry.objects.filter(object_id=str(rule.pk)).latest("action_time")
    assert entry.user == curator and entry.is_change()
    message = entry.get_change_message()
    for label in ("Note", "Verified", "Local tags added", "Level override", "False-positive note"):
        assert label in message
    assert "Title" not in message

    # Turning "verified" off clears who and when.
    response = client.post(change_url(rule), form_data(client.get(change_url(rule)), verified=False))
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.verified, rule.verified_by, rule.verified_at) == (False, "", None)
    assert rule.note == "Reviewed with the SOC"


def test_an_invalid_local_tag_is_a_form_error(client, curator, rule):
    client.force_login(curator)
    response = client.post(change_url(rule), form_data(client.get(change_url(rule)), local_tags_added="ok, bad|tag"))
    assert response.status_code == 200
    assert "local_tags_added" in response.context["adminform"].form.errors
    rule.refresh_from_db()
    assert rule.local_tags_added == []


@pytest.mark.parametrize(
    "url",
    [
        "/admin/catalog/rule/{pk}/delete/",
        "/admin/catalog/rule/add/",
        "/admin/auth/user/",
        "/admin/auth/group/",
        "/admin/catalog/source/{source}/reimport/",
        "/admin/catalog/source/add/",
    ],
)
def test_a_curator_cannot_delete_add_manage_users_or_reimport(client, curator, rule, url):
    client.force_login(curator)
    url = url.format(pk=rule.pk, source=rule.source_id)
    assert client.get(url).status_code == 403
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert Rule.objects.filter(pk=rule.pk).exists()


def test_a_curator_has_no_delete_action_and_sees_the_reference_data_read_only(client, curator, rule):
    client.force_login(curator)
    actions = dict(client.get(CHANGELIST).context["action_form"].fields["action"].choices)
    assert "delete_selected" not in actions and {"verify", "hide", "unhide", "add_local_tag"} <= set(actions)
    indicator = rule.rule_indicators.first().indicator_id
    run = ImportRun.objects.first()
    for url in [
        f"/admin/catalog/indicator/{indicator}/change/",
        "/admin/catalog/technique/",
        f"/admin/catalog/source/{rule.source_id}/change/",
        f"/admin/catalog/importrun/{run.pk}/change/",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert b'name="_save"' not in response.content, url
    page = client.get(f"/admin/catalog/source/{rule.source_id}/change/").content.decode()
    assert "/reimport/" not in page


# -- staff without the group -----------------------------------------------------------------------------
def test_staff_without_the_curator_group_sees_no_rules(client, staff, rule):
    client.force_login(staff)
    index = client.get("/admin/")
    assert index.status_code == 200 and "catalog" not in [a["app_label"] for a in index.context["app_list"]]
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(change_url(rule)).status_code == 403
    assert client.post(change_url(rule), {"note": "x"}).status_code == 403
    rule.refresh_from_db()
    assert rule.note == ""


# -- superusers -----------------------------------------------------------------------------------------------
def test_bulk_actions_verify_hide_unhide_and_log_each_rule(client, admin_user, example_rules):
    client.force_login(admin_user)
    rules = list(example_rules.order_by("title")[:3])
    pks = [str(r.pk) for r in rules]
    response = client.post(CHANGELIST, {"action": "verify", "_selected_action": pks, "index": 0})
    assert response.status_code == 302
    assert set(Rule.objects.filter(pk__in=pks).values_list("verified", "verified_by")) == {(True, "root")}
    for r in rules:
        entry = LogEntry.objects.get(object_id=str(r.pk), user=admin_user)
        assert "Verified" in entry.get_change_message()

    client.post(CHANGELIST, {"action": "hide", "_selected_action": pks[:2], "index": 0})
    assert list(Rule.objects.filter(pk__in=pks).order_by("title").values_list("hidden", flat=True)) == [
        True,
        True,
        False,
    ]
    client.post(CHANGELIST, {"action": "unhide", "_selected_action": pks[:1], "index": 0})
    assert list(Rule.objects.filter(pk__in=pks).order_by("title").values_list("hidden", flat=True)) == [
        False,
        True,
        False,
    ]
    assert LogEntry.objects.filter(user=admin_user).count() == 3 + 2 + 1


def test_bulk_add_tag_asks_for_the_tag_on_an_intermediate_page(client, admin_user, example_rules):
    client.force_login(admin_user)
    pks = [str(pk) for pk in example_rules.order_by("title").values_list("pk", flat=True)[:2]]
    page = client.post(CHANGELIST, {"action": "add_local_tag", "_selected_action": pks, "index": 0})
    assert page.status_code == 200 and b'name="tag"' in page.content and b"csrfmiddlewaretoken" in page.content
    # A bad tag re-asks and changes nothing.
    page = client.post(
        CHANGELIST, {"action": "add_local_tag", "_selected_action": pks, "apply": "1", "tag": "two words"}
    )
    assert page.status_code == 200 and page.context["form"].errors
    assert not Rule.objects.filter(pk__in=pks).exclude(local_tags_added=[]).exists()
    response = client.post(
        CHANGELIST, {"action": "add_local_tag", "_selected_action": pks, "apply": "1", "tag": "local.triage"}
    )
    assert response.status_code == 302
    for r in Rule.objects.filter(pk__in=pks):
        assert r.local_tags_added == ["local.triage"] and "|local.triage|" in r.tag_text
    assert LogEntry.objects.filter(user=admin_user, object_id__in=pks).count() == 2
    # The tag is searchable and filterable at once.
    listing = client.get(CHANGELIST, {"q": "tag:local.triage"})
    assert sorted(str(r.pk) for r in listing.context["cl"].result_list) == sorted(pks)
    assert listing.context["cl"].result_count == 2
    assert client.get(CHANGELIST, {"curation": "local_tags"}).context["cl"].result_count == 2


def test_rule_search_by_title_id_tag_and_indicator_value(client, admin_user, rule):
    client.force_login(admin_user)
    value = rule.rule_indicators.select_related("indicator").first().written
    for query in [rule.title.upper(), CERTUTIL_ID, f"tag:{rule.tags[0]}", f'"{value}"']:
        results = client.get(CHANGELIST, {"q": query}).context["cl"].queryset
        assert results.filter(pk=rule.pk).exists(), query


@pytest.mark.parametrize(
    "state, field, value",
    [
        ("verified", "verified", True),
        ("hidden", "hidden", True),
        ("note", "note", "n"),
        ("level_override", "level_override", "low"),
        ("local_tags", "local_tags_removed", ["attack.t1"]),
    ],
)
def test_curation_state_filters(client, admin_user, rule, state, field, value):
    client.force_login(admin_user)
    Rule.objects.filter(pk=rule.pk).update(**{field: value})
    cl = client.get(CHANGELIST, {"curation": state}).context["cl"]
    assert [r.pk for r in cl.result_list] == [rule.pk]
    assert client.get(CHANGELIST, {"curation": "curated"}).context["cl"].result_count == 1


def test_the_rule_page_shows_sigma_read_only_and_indicators_in_constant_queries(client, admin_user, corpus):
    client.force_login(admin_user)
    big_pk = (
        RuleIndicator.objects.values("rule").annotate(n=Count("pk")).order_by("-n").values_list("rule", flat=True)[0]
    )
    big = Rule.objects.get(pk=big_pk)
    small = corpus.filter(rule_indicators__isnull=False).exclude(pk=big_pk).order_by("pk").first()
    assert big.rule_indicators.count() > 100
    counts = {}
    client.get(change_url(small))  # the first view of the process caches the content type (one query, once)
    for r in (small, big):
        with CaptureQueriesContext(connection) as queries:
            page = client.get(change_url(r))
        assert page.status_code == 200
        counts[r.pk] = len(queries)
    assert counts[small.pk] == counts[big.pk], counts
    html = page.content.decode()
    assert 'name="title"' not in html and 'name="note"' in html
    total = big.rule_indicators.count()
    first = big.rule_indicators.select_related("indicator").order_by("position").first()
    assert f"<td>{first.indicator.field}</td><td>{first.indicator.kind}</td>" in html
    assert f"Indicators ({total})" in html and f"Showing the first 250 of {total}." in html
    assert "History" in html
    # The full list is one click away, paginated by the indicator admin.
    listing = client.get(f"/admin/catalog/indicator/?rule={big.pk}")
    assert listing.context["cl"].result_count == total


def test_the_rule_page_shows_the_history(client, admin_user, examples):
    import_paths([str(examples)], source="examples")
    path = examples / CERTUTIL
    path.write_text(path.read_text().replace("- 'ftp://'", "- 'ftps://'"))
    import_paths([str(examples)], source="examples")
    client.force_login(admin_user)
    html = client.get(change_url(Rule.objects.get(uuid=CERTUTIL_ID))).content.decode()
    assert '<span class="diff-added">+            - &#x27;ftps://&#x27;</span>' in html


# -- re-import from the admin (queued as a background job; tests/importing/test_import_jobs.py runs real ones) ------
@pytest.fixture
def import_roots(settings, examples):
    """Admin imports may read the test's private copy of rules/."""
    settings.CATALOG_IMPORT_ROOTS = [str(examples.parent)]
    return settings.CATALOG_IMPORT_ROOTS


def run_queued_jobs():
    """What the background worker runs, here in the test's own transaction (the real task backend)."""
    from tests.task_worker import run_queued_tasks

    assert run_queued_tasks() >= 1


def test_superuser_reimports_a_source_and_sees_the_command_report(client, admin_user, examples, import_roots):
    from catalog.models import ImportJob

    import_paths([str(examples)], source="examples")
    source = Source.objects.get(name="examples")
    client.force_login(admin_user)
    assert (
        f"/admin/catalog/source/{source.pk}/reimport/"
        in client.get(f"/admin/catalog/source/{source.pk}/change/").content.decode()
    )
    confirm = client.get(f"/admin/catalog/source/{source.pk}/reimport/")
    assert confirm.status_code == 200 and confirm.context["roots"] == [str(examples)]
    assert b"csrfmiddlewaretoken" in confirm.content and b'method="post"' in confirm.content

    path = examples / CERTUTIL
    path.write_text(path.read_text().replace("title: Certutil", "title: Changed Certutil"))
    (examples / "windows" / "broken.yml").write_text("title: [unclosed\n")
    response = client.post(f"/admin/catalog/source/{source.pk}/reimport/")
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/admin/catalog/importjob/{job.pk}/change/"
    assert (job.status, job.source, job.roots, job.requested_by) == ("queued", source, [str(examples)], admin_user)
    run_queued_jobs()
    job.refresh_from_db()
    assert job.status == "done" and job.finished_at is not None
    html = client.get(f"/admin/catalog/importjob/{job.pk}/change/").content.decode()
    assert (
        f"{EXAMPLE_FILES + 1} files read; rules: 0 created, 1 updated, {EXAMPLE_RULES - 1} unchanged, 0 retired; "
        "0 warnings, 1 errors"
    ) in html
    assert "examples/windows/broken.yml:2" in html and "invalid YAML" in html
    assert 'http-equiv="refresh"' not in html  # finished: the page stops reloading
    assert Rule.objects.get(uuid=CERTUTIL_ID).title.startswith("Changed Certutil")
    run = ImportRun.objects.latest("started_at")
    assert job.import_run == run
    run_page = client.get(f"/admin/catalog/importrun/{run.pk}/change/").content.decode()
    assert "examples/windows/broken.yml:2" in run_page and "problem-error" in run_page


def test_the_reimport_action_queues_each_selected_source(client, admin_user, examples, import_roots):
    from catalog.models import ImportJob

    import_paths([str(examples)], source="examples")
    source = Source.objects.get(name="examples")
    client.force_login(admin_user)
    response = client.post(
        "/admin/catalog/source/", {"action": "reimport_sources", "_selected_action": [source.pk], "index": 0}
    )
    assert response.status_code == 302 and response["Location"] == "/admin/catalog/importjob/"
    run_queued_jobs()
    job = ImportJob.objects.get(source=source)
    summary = f"{EXAMPLE_FILES} files read; rules: 0 created, 0 updated, {EXAMPLE_RULES} unchanged"
    assert job.status == "done" and summary in job.summary
    listing = client.get("/admin/catalog/importjob/").content.decode()
    assert f"{EXAMPLE_RULES} unchanged" in listing


def test_the_reimport_permission_alone_allows_a_reimport(client, django_user_model, examples, import_roots):
    from catalog.models import ImportJob

    import_paths([str(examples)], source="examples")
    source = Source.objects.get(name="examples")
    user = django_user_model.objects.create_user("importer", password="x", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="reimport_source"), Permission.objects.get(codename="view_source")
    )
    client.force_login(user)
    response = client.post(f"/admin/catalog/source/{source.pk}/reimport/")
    assert response.status_code == 302
    run_queued_jobs()
    page = client.get(response["Location"])
    assert page.status_code == 200 and f"{EXAMPLE_RULES} unchanged".encode() in page.content
    assert ImportJob.objects.get().requested_by == user
    # ...but it does not open the rules.
    assert client.get(CHANGELIST).status_code == 403


def test_reimport_needs_post(client, admin_user, examples, import_roots):
    from catalog.models import ImportJob

    import_paths([str(examples)], source="examples")
    source = Source.objects.get(name="examples")
    client.force_login(admin_user)
    runs = ImportRun.objects.count()
    response = client.get(f"/admin/catalog/source/{source.pk}/reimport/")
    assert response.status_code == 200 and b'method="post"' in response.content  # the confirmation form
    assert ImportRun.objects.count() == runs and not ImportJob.objects.exists()


def test_reference_data_is_read_only_even_for_superusers(client, admin_user, rule):
    client.force_login(admin_user)
    indicator = Indicator.objects.filter(rule_indicators__rule=rule).first()
    response = client.post(f"/admin/catalog/indicator/{indicator.pk}/change/", {"value": "changed"})
    assert response.status_code == 403
    indicator.refresh_from_db()
    assert indicator.value != "changed"
    assert client.get("/admin/catalog/indicator/add/").status_code == 403


def test_reimport_is_csrf_protected(admin_user, examples, import_roots):
    from django.test import Client

    import_paths([str(examples)], source="examples")
    source = Source.objects.get(name="examples")
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    runs = ImportRun.objects.count()
    assert client.post(f"/admin/catalog/source/{source.pk}/reimport/").status_code == 403
    assert ImportRun.objects.count() == runs and not source.import_jobs.exists()


def test_the_corpus_source_is_reimported_from_all_its_folders(corpus):
    from catalog.importing.reimport import source_roots

    assert sorted(source_roots(Source.objects.get(name="sigmahq"))) == sorted(corpus_paths())


def test_a_bulk_hide_reaches_cached_public_pages_at_once(client, admin_user, rule, settings):
    from django.core.cache import caches
    from django.test import Client

    settings.CATALOG_PAGE_CACHE_SECONDS = 300
    caches["pages"].clear()
    visitor = Client()
    url = f"/rules/{rule.uuid}/"
    assert visitor.get(url).status_code == 200
    assert visitor.get(url)["X-Page-Cache"] == "hit"
    client.force_login(admin_user)
    client.post(CHANGELIST, {"action": "hide", "_selected_action": [rule.pk], "index": 0})
    assert visitor.get(url).status_code == 404  # bulk_update sends no signal: curation bumps the version itself
    caches["pages"].clear()
