"""Importing: /preview/ shows a pasted rule as its page would, before it is imported (`importing:*`).
Imports themselves run from the command line (`import_rules`) and the admin."""

from django.urls import path

from catalog.importing import preview

app_name = "importing"

urlpatterns = [
    path("preview/", preview.preview_page, name="preview"),
]
