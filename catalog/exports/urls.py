"""Exports: the rule list and one rule as files for other tools: CSV, ATT&CK Navigator layers, SIEM import
files and the rule's YAML (`exports:*`)."""

from django.urls import path

from catalog.exports import rule_downloads, siem_exports, views

app_name = "exports"

urlpatterns = [
    path("rules/export.csv", views.rules_csv, name="rules-csv"),
    path("rules/export/<str:filename>", siem_exports.siem_export, name="siem-export"),
    path("rules/<uuid:rule_uuid>/rule.yml", rule_downloads.rule_yaml, name="rule-yaml"),
    path("rules/<uuid:rule_uuid>/layer.json", rule_downloads.rule_layer, name="rule-layer"),
    path("rules/<uuid:rule_uuid>/row.csv", rule_downloads.rule_csv, name="rule-csv"),
    path("attack/navigator.json", views.navigator_layer, name="attack-navigator"),
]
