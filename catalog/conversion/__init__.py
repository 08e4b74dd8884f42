"""Sigma rules as SIEM queries: Splunk, Elastic, Microsoft Sentinel and any installed pySigma backend.

- targets.py: backends and pipelines found through pySigma's plugin discovery, with defaults;
- sources.py: YAML -> pySigma rules, through the importer's catalog.core/sigma code and limits;
- converter.py: pySigma rules -> a query (or pySigma's error), the way pySigma converts;
- stored.py: stored rules' queries, cached per (content hash, target, pipelines, format, versions);
- records.py, formats.py, exporting.py: streamed bulk exports in each SIEM's import format.
Pages, the API and `manage.py convert_rules` all go through these.
"""
