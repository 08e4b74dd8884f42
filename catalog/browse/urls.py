"""Browse: the front page, rules, indicators, fields, ATT&CK, events and log sources, each HTML page beside
its JSON twin under /api/. The paths are a public contract, like every feature's; the names are `browse:*`.
The field-less (keyword) indicators live at /fields/-keywords-/ (browse.queries.fields.KEYWORDS_SLUG);
a channel-wide event row (no event id) at /events/<provider>/any/.
"""

from django.urls import path

from catalog.browse import api, rule_indicators, views

app_name = "browse"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("rules/", views.rule_list, name="rule-list"),
    path("rules/<uuid:rule_uuid>/", views.rule_detail, name="rule-detail"),
    path("rules/<uuid:rule_uuid>/indicators/", rule_indicators.rule_indicators, name="rule-indicators"),
    path("indicators/", views.indicator_list, name="indicator-list"),
    path("indicators/<int:pk>/", views.indicator_detail, name="indicator-detail"),
    path("fields/", views.field_list, name="field-list"),
    path("fields/<path:name>/", views.field_detail, name="field-detail"),
    path("attack/", views.attack_matrix, name="attack-matrix"),
    path("attack/tactics/<str:shortname>/", views.tactic_detail, name="tactic-detail"),
    path("attack/<str:technique_id>/", views.technique_detail, name="technique-detail"),
    path("events/", views.event_list, name="event-list"),
    path("events/<path:provider>/<str:event>/", views.event_detail, name="event-detail"),
    path("logsources/", views.logsource_list, name="logsource-list"),
    path("api/", api.api_root, name="api-root"),
    path("api/rules/", api.RuleList.as_view(), name="api-rule-list"),
    path("api/rules/<uuid:uuid>/", api.RuleDetail.as_view(), name="api-rule-detail"),
    path("api/indicators/", api.IndicatorList.as_view(), name="api-indicator-list"),
    path("api/indicators/<int:pk>/", api.IndicatorDetail.as_view(), name="api-indicator-detail"),
    path("api/fields/", api.FieldList.as_view(), name="api-field-list"),
    path("api/fields/<path:name>/", api.FieldDetail.as_view(), name="api-field-detail"),
    path("api/attack/", api.TechniqueList.as_view(), name="api-technique-list"),
    path("api/attack/tactics/", api.TacticList.as_view(), name="api-tactic-list"),
    path("api/attack/tactics/<str:shortname>/", api.TacticDetail.as_view(), name="api-tactic-detail"),
    path("api/attack/<str:technique_id>/", api.TechniqueDetail.as_view(), name="api-technique-detail"),
    path("api/events/", api.EventList.as_view(), name="api-event-list"),
    path("api/events/<path:provider>/<str:event_id>/", api.EventDetail.as_view(), name="api-event-detail"),
    path("api/logsources/", api.LogsourceList.as_view(), name="api-logsource-list"),
    path("api/quality/", api.quality, name="api-quality"),
]
