"""Changes: what each import added, changed and retired, as a page, an Atom feed and JSON (`changes:*`)."""

from django.urls import path

from catalog.changes import api, views

app_name = "changes"

urlpatterns = [
    path("changes/", views.changes_page, name="list"),
    path("changes/feed/", views.ChangesFeed(), name="feed"),
    path("api/changes/", api.ChangesAPI.as_view(), name="api-list"),
]
