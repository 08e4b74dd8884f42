"""URL map. The public paths are a contract: other tools and bookmarks rely on them.

Every HTML page has a JSON twin under /api/ at the same path (catalog.api.urls).
The field-less (keyword) indicators live at /fields/-keywords-/ (queries.KEYWORDS_SLUG);
a channel-wide event row (no event id) at /events/<provider>/any/.
"""

from django.contrib import admin
from django.urls import include, path

from catalog.api import changes as changes_api
from catalog.api import coverage as coverage_api
from catalog.operations import health, metrics_view
from catalog.web import (
    changes,
    coverage,
    coverage_exports,
    match,
    match_files,
    preview,
    rule_downloads,
    rule_indicators,
    siem_exports,
    test_events,
    views,
)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/changes/", changes_api.ChangesAPI.as_view(), name="api-changes"),
    path("api/match/", match.match_api, name="api-match"),
    path("api/match/files/", match_files.match_upload_api, name="api-match-files"),
    path("api/match/jobs/<uuid:token>/", match_files.match_job_api, name="api-match-job"),
    path("api/rules/<uuid:rule_uuid>/test-events/", test_events.test_events_api, name="api-rule-test-events"),
    path("api/coverage/", coverage_api.CoverageAPI.as_view(), name="api-coverage"),
    path("api/", include("catalog.api.urls")),
    path("changes/", changes.changes_page, name="changes"),
    path("changes/feed/", changes.ChangesFeed(), name="changes-feed"),
    path("", views.overview, name="overview"),
    path("rules/", views.rule_list, name="rule-list"),
    path("rules/export.csv", coverage_exports.rules_csv, name="rules-csv"),
    path("rules/export/<str:filename>", siem_exports.siem_export, name="siem-export"),
    path("rules/<uuid:rule_uuid>/", views.rule_detail, name="rule-detail"),
    path("rules/<uuid:rule_uuid>/indicators/", rule_indicators.rule_indicators, name="rule-indicators"),
    path("rules/<uuid:rule_uuid>/rule.yml", rule_downloads.rule_yaml, name="rule-yaml"),
    path("rules/<uuid:rule_uuid>/layer.json", rule_downloads.rule_layer, name="rule-layer"),
    path("rules/<uuid:rule_uuid>/row.csv", rule_downloads.rule_csv, name="rule-csv"),
    path("indicators/", views.indicator_list, name="indicator-list"),
    path("indicators/<int:pk>/", views.indicator_detail, name="indicator-detail"),
    path("fields/", views.field_list, name="field-list"),
    path("fields/<path:name>/", views.field_detail, name="field-detail"),
    path("attack/", views.attack_matrix, name="attack-matrix"),
    path("attack/navigator.json", coverage_exports.navigator_layer, name="attack-navigator"),
    path("attack/tactics/<str:shortname>/", views.tactic_detail, name="tactic-detail"),
    path("attack/<str:technique_id>/", views.technique_detail, name="technique-detail"),
    path("events/", views.event_list, name="event-list"),
    path("events/<path:provider>/<str:event>/", views.event_detail, name="event-detail"),
    path("logsources/", views.logsource_list, name="logsource-list"),
    path("match/", match.match_page, name="match"),
    path("match/upload/", match_files.match_upload, name="match-upload"),
    path("match/jobs/<uuid:token>/", match_files.job_page, name="match-job"),
    path("rules/<uuid:rule_uuid>/test-events/", test_events.test_events_page, name="rule-test-events"),
    path("coverage/", coverage.coverage_page, name="coverage"),
    path("coverage/rules/", coverage.coverage_rules, name="coverage-rules"),
    path("coverage/navigator.json", coverage.coverage_layer, name="coverage-navigator"),
    path("coverage/export.csv", coverage.coverage_csv, name="coverage-csv"),
    path("preview/", preview.preview_page, name="preview"),
    # Answered ahead of the other middlewares (catalog.operations.endpoints); here for reverse() and labels.
    path("health/", health.health_ready, name="health"),
    path("health/live/", health.health_live, name="health-live"),
    path("metrics", metrics_view.metrics, name="metrics"),
]
