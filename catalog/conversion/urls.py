"""Conversion: SIEM targets, a stored rule's query and posted rules converted (`conversion:*`, JSON only;
the rule page shows the query, /preview/ a posted rule)."""

from django.urls import path

from catalog.conversion import api

app_name = "conversion"

urlpatterns = [
    path("api/rules/<uuid:uuid>/query/", api.rule_query_api, name="api-rule-query"),
    path("api/targets/", api.targets_api, name="api-targets"),
    path("api/convert/", api.convert_api, name="api-convert"),
]
