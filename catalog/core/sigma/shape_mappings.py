"""The field mappings of pySigma's SIEM pipelines, read backwards: a SIEM's field -> the Sigma fields it holds.

A pipeline converts a rule's Sigma field names (`Image`, `CommandLine`) into a SIEM's (`process.executable`,
`ProcessCommandLine`). Read in reverse, the same tables turn an event logged in that SIEM's shape back into
the names rules are written with (catalog.core.sigma.shapes), so the mapping has one source: the pinned
pySigma packages (pyproject.toml), not a second hand-kept table here.

Only the pipeline items that apply to Windows rules are read (their log source condition names product
windows, or they have none): the events renamed are Windows events, and Splunk's proxy or DNS data models
would otherwise give a Sysmon event's `dest` a web server's and a DNS server's field too. Where several
Sigma fields map to one SIEM field (ECS `file.path` holds `TargetFilename`, `ImageLoaded`, `FileName`, ...)
every one is kept, in pipeline order: which one a rule reads depends on its log source, not on the event.

How each pipeline exposes its mapping (pySigma 1.5): a `FieldMappingTransformation`'s `mapping` (Sigma field
-> target or list of targets); an `AddFieldnamePrefixTransformation`'s `prefix` (ECS: every other field is
`winlog.event_data.<field>`); the Kusto pipelines' `DynamicFieldMappingTransformation.field_mappings`, a
`table_mappings` dict per table plus `generic_mappings` for the Sigma fields a table's mapping leaves out.

Importing these pipeline modules does not disturb pySigma's plugin discovery (catalog.conversion.targets):
only importing sigma.pipelines.sysmon first does (catalog.core.taxonomy.pipelines says why), and it is not read here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from functools import cache

from sigma.processing.conditions import LogsourceCondition
from sigma.processing.pipeline import ProcessingPipeline
from sigma.processing.transformations import AddFieldnamePrefixTransformation, FieldMappingTransformation

# pipeline id (as pySigma's plugin discovery names it) -> the package whose `pipelines` dict holds it
PACKAGES = {
    "ecs_windows": "sigma.pipelines.elasticsearch",  # pySigma-backend-elasticsearch
    "splunk_windows": "sigma.pipelines.splunk",  # pySigma-backend-splunk
    "splunk_cim": "sigma.pipelines.splunk",
    "azure_monitor": "sigma.pipelines.azuremonitor",  # pySigma-backend-kusto
    "microsoft_xdr": "sigma.pipelines.microsoftxdr",
}
# Mappings whose field holds a changed value, which no mapping read backwards can restore: microsoft_xdr maps
# ParentImage to InitiatingProcessParentFileName for tables other than DeviceProcessEvents and cuts the rule's
# value to a file name (ParentImageValueTransformation), so its file name is no ParentImage a rule expects.
VALUE_CHANGED = {"microsoft_xdr_parent_image_fieldmapping"}
# Elasticsearch pipelines name a keyword sub-field of the index (`process.executable.caseless`); the logged
# document, which is what is pasted, holds the field itself.
INDEX_SUFFIXES = (".caseless",)

Reverse = dict[str, tuple[str, ...]]  # SIEM field -> the Sigma fields mapped to it, in pipeline order


@dataclass(frozen=True)
class Reversed:
    fields: Reverse  # the pipeline's mappings for any table (Kusto: its generic mapping)
    prefixes: tuple[str, ...] = ()  # prefixes put before every Sigma field no mapping named
    tables: dict[str, Reverse] = field(default_factory=dict)  # Kusto: per table, the generic mapping included


def pipeline(pipeline_id: str) -> ProcessingPipeline:
    """A fresh instance of an installed pySigma pipeline, by its plugin id."""
    package = importlib.import_module(PACKAGES[pipeline_id])
    # plugin discovery's ids: the package's `pipelines` keys without "_pipeline" (microsoft_xdr_pipeline)
    generators = {name.replace("_pipeline", ""): made for name, made in package.pipelines.items()}
    made = generators[pipeline_id]()
    return made() if not isinstance(made, ProcessingPipeline) and callable(made) else made


@cache
def reversed_pipeline(pipeline_id: str) -> Reversed:
    """The Windows field mappings of one pipeline, read backwards (kept per process: the tables are fixed)."""
    fields: dict[str, list[str]] = {}
    prefixes: list[str] = []
    tables: dict[str, dict[str, list[str]]] = {}
    for item in pipeline(pipeline_id).items:
        if not _for_windows(item):
            continue
        transformation = item.transformation
        kusto = getattr(transformation, "field_mappings", None)
        if kusto is not None:  # DynamicFieldMappingTransformation: the mapping depends on the rule's table
            generic = kusto.generic_mappings or {}
            _add(fields, generic)
            for table, mapping in kusto.table_mappings.items():
                # the generic mapping applies to the Sigma fields the table's mapping did not map
                _add(tables.setdefault(table, {}), mapping)
                _add(tables[table], {sigma: target for sigma, target in generic.items() if sigma not in mapping})
        elif isinstance(transformation, AddFieldnamePrefixTransformation):
            prefixes.append(transformation.prefix)
        elif isinstance(transformation, FieldMappingTransformation):
            _add(fields, transformation.mapping)
    return Reversed(_frozen(fields), tuple(prefixes), {table: _frozen(mapping) for table, mapping in tables.items()})


def without_prefixes(reverse: Reverse) -> Reverse:
    """The same mapping also reachable without the part before the first dot: Splunk's CIM data-model
    fields (`Processes.process`) are named so in data-model searches, and `process` in the events."""
    plain: dict[str, list[str]] = {}
    for target, sigma_fields in reverse.items():
        for name in (target, target.split(".", 1)[-1]):
            plain.setdefault(name, [])
            plain[name].extend(s for s in sigma_fields if s not in plain[name])
    return _frozen(plain)


def merged(*reverses: Reverse) -> Reverse:
    joined: dict[str, list[str]] = {}
    for reverse in reverses:
        for target, sigma_fields in reverse.items():
            joined.setdefault(target, [])
            joined[target].extend(s for s in sigma_fields if s not in joined[target])
    return _frozen(joined)


def _for_windows(item) -> bool:
    if item.identifier in VALUE_CHANGED:
        return False
    conditions = item.rule_conditions
    conditions = list(conditions.values()) if isinstance(conditions, dict) else list(conditions or ())
    sources = [c for c in conditions if isinstance(c, LogsourceCondition)]
    # a negated condition (every rule but process_creation ones) still applies to Windows rules
    return item.rule_condition_negation or not sources or any(c.product == "windows" for c in sources)


def _add(reverse: dict[str, list[str]], mapping: dict) -> None:
    for sigma_field, targets in mapping.items():
        if sigma_field is None:  # keywords mapped to a field: no Sigma field to give back
            continue
        for target in [targets] if isinstance(targets, str) else targets:
            for suffix in INDEX_SUFFIXES:
                target = target.removesuffix(suffix)
            candidates = reverse.setdefault(target, [])
            if sigma_field not in candidates:
                candidates.append(sigma_field)


def _frozen(reverse: dict[str, list[str]]) -> Reverse:
    return {target: tuple(sigma_fields) for target, sigma_fields in reverse.items()}
