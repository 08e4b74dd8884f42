"""/api/ URL map. These paths are a public contract, like the HTML ones."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from catalog.api import conversion, views
from catalog.parameters import reads_parameters

app_name = "api"
# What drf-spectacular's views read (catalog.parameters): DRF's renderer choice, the API version, the language.
SCHEMA_PARAMETERS = ("format", "version", "lang")

urlpatterns = [
    path("", views.api_root, name="root"),
    path("rules/", views.RuleList.as_view(), name="rule-list"),
    path("rules/<uuid:uuid>/", views.RuleDetail.as_view(), name="rule-detail"),
    path("rules/<uuid:uuid>/query/", conversion.rule_query_api, name="rule-query"),
    path("targets/", conversion.targets_api, name="targets"),
    path("convert/", conversion.convert_api, name="convert"),
    path("indicators/", views.IndicatorList.as_view(), name="indicator-list"),
    path("indicators/<int:pk>/", views.IndicatorDetail.as_view(), name="indicator-detail"),
    path("fields/", views.FieldList.as_view(), name="field-list"),
    path("fields/<path:name>/", views.FieldDetail.as_view(), name="field-detail"),
    path("attack/", views.TechniqueList.as_view(), name="technique-list"),
    path("attack/tactics/", views.TacticList.as_view(), name="tactic-list"),
    path("attack/tactics/<str:shortname>/", views.TacticDetail.as_view(), name="tactic-detail"),
    path("attack/<str:technique_id>/", views.TechniqueDetail.as_view(), name="technique-detail"),
    path("events/", views.EventList.as_view(), name="event-list"),
    path("events/<path:provider>/<str:event_id>/", views.EventDetail.as_view(), name="event-detail"),
    path("logsources/", views.LogsourceList.as_view(), name="logsource-list"),
    path("schema/", reads_parameters(*SCHEMA_PARAMETERS)(SpectacularAPIView.as_view()), name="schema"),
    # Swagger UI from the pinned drf-spectacular-sidecar's static files (no CDN); its init script is
    # served by the same view (?script), so the page needs no inline script (CSP).
    path(
        "docs/",
        reads_parameters(*SCHEMA_PARAMETERS, "script")(SpectacularSwaggerSplitView.as_view(url_name="api:schema")),
        name="docs",
    ),
]
