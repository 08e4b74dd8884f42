"""The API's OpenAPI schema and its Swagger UI (`platform:*`); each feature's urls.py maps its own endpoints."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from catalog.platform.parameters import reads_parameters

app_name = "platform"
# What drf-spectacular's views read (catalog.platform.parameters): DRF's renderer choice, the API version, the language.
SCHEMA_PARAMETERS = ("format", "version", "lang")

urlpatterns = [
    path("api/schema/", reads_parameters(*SCHEMA_PARAMETERS)(SpectacularAPIView.as_view()), name="api-schema"),
    # Swagger UI from the pinned drf-spectacular-sidecar's static files (no CDN); its init script is
    # served by the same view (?script), so the page needs no inline script (CSP).
    path(
        "api/docs/",
        reads_parameters(*SCHEMA_PARAMETERS, "script")(
            SpectacularSwaggerSplitView.as_view(url_name="platform:api-schema")
        ),
        name="api-docs",
    ),
]
