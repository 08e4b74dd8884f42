"""URL map. The public paths are a contract: other tools and bookmarks rely on them."""
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("catalog.api.urls")),
]
