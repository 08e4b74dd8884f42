"""Importing: /preview/ shows a pasted rule as its page would, before it is imported (`importing:*`); a git
source's push webhook queues its sync. Imports themselves run from the command line (`import_rules`,
`sync_sources`) and the admin."""

from django.urls import path

from catalog.importing import preview, webhooks

app_name = "importing"

urlpatterns = [
    path("preview/", preview.preview_page, name="preview"),
    path("api/sources/<str:name>/webhook/", webhooks.SourceWebhookAPI.as_view(), name="source-webhook"),
]
