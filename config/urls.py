"""URL map: each feature maps its own pages and their /api/ twins (catalog/<feature>/urls.py, names
`<feature>:<name>`). The public paths are a contract: other tools and bookmarks rely on them.

Order matters only where paths overlap: /api/ paths are distinct per feature, and /rules/export.csv is
never a rule id.
"""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("catalog.operations.urls")),
    path("", include("catalog.platform.urls")),
    path("", include("catalog.browse.urls")),
    path("", include("catalog.exports.urls")),
    path("", include("catalog.conversion.urls")),
    path("", include("catalog.matching.urls")),
    path("", include("catalog.coverage.urls")),
    path("", include("catalog.changes.urls")),
    path("", include("catalog.importing.urls")),
]
