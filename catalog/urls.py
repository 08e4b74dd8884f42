"""URL map. The public paths are a contract: other tools and bookmarks rely on them."""
from django.contrib import admin
from django.urls import path

urlpatterns = [
    path("admin/", admin.site.urls),
]
