"""URL map. The public paths are a contract: other tools and bookmarks rely on them."""
from django.contrib import admin
from django.urls import include, path

from . import changes

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/changes/", changes.changes_json, name="api-changes"),
    path("api/", include("catalog.api.urls")),
    path("changes/", changes.changes_page, name="changes"),
    path("changes/feed/", changes.ChangesFeed(), name="changes-feed"),
]
