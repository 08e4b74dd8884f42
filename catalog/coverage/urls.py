"""Coverage: what a telemetry profile runs, where it is blind, its rules and its exports (`coverage:*`)."""

from django.urls import path

from catalog.coverage import api, sample_views, upload_views, views

app_name = "coverage"

urlpatterns = [
    path("coverage/", views.coverage_page, name="page"),
    path("coverage/rules/", views.coverage_rules, name="rules"),
    path("coverage/sysmon/", upload_views.sysmon_upload, name="sysmon-upload"),
    path("coverage/sample/", sample_views.sample_upload, name="sample-upload"),
    path("coverage/compare/", sample_views.compare_page, name="compare"),
    path("coverage/navigator.json", views.coverage_layer, name="navigator"),
    path("coverage/export.csv", views.coverage_csv, name="csv"),
    path("api/coverage/", api.CoverageAPI.as_view(), name="api"),
]
