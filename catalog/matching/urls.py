"""Matching: pasted events, uploaded event files and a rule's logged test events, each page beside its JSON
twin (`matching:*`)."""

from django.urls import path

from catalog.matching import file_views, test_event_views, views

app_name = "matching"

urlpatterns = [
    path("match/", views.match_page, name="match"),
    path("match/upload/", file_views.match_upload, name="upload"),
    path("match/jobs/<uuid:token>/", file_views.job_page, name="job"),
    path("rules/<uuid:rule_uuid>/test-events/", test_event_views.test_events_page, name="rule-test-events"),
    path("api/match/", views.match_api, name="api-match"),
    path("api/match/files/", file_views.match_upload_api, name="api-upload"),
    path("api/match/jobs/<uuid:token>/", file_views.match_job_api, name="api-job"),
    path("api/rules/<uuid:rule_uuid>/test-events/", test_event_views.test_events_api, name="api-rule-test-events"),
]
