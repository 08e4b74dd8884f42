"""Which conversion targets (pySigma backends) and pipelines are installed, found through pySigma's plugins.

pySigma discovers backends in the `sigma.backends` namespace and pipelines in `sigma.pipelines`
(InstalledSigmaPlugins.autodiscover), so `pip install pySigma-backend-loki` adds a target here with
no code change. The three families the catalog is built for (Splunk, Elastic, Microsoft Sentinel /
Defender) get sensible default pipelines and their own bulk export; any other backend converts
with no pipeline unless one is asked for.

A pipeline is offered for a target when pySigma says it may be used with it: its
`allowed_backends` is empty, names the target, or names the backend's package (the ECS
pipelines name `elasticsearch`, which the ES|QL backend belongs to). Pipeline names from a request
are only ever looked up in the discovered set: pySigma's own resolver would read a file of that
name from disk.
"""

from __future__ import annotations

import copy
import functools
import importlib.metadata
from dataclasses import dataclass, field

from sigma.plugins import InstalledSigmaPlugins
from sigma.processing.pipeline import ProcessingPipeline

# family, label and default pipeline of the targets the catalog knows; others are discovered as they come.
KNOWN_TARGETS = {
    "splunk": ("splunk", "Splunk SPL", "splunk_windows"),
    "lucene": ("elastic", "Elastic Lucene (Kibana, detection rules)", "ecs_windows"),
    "esql": ("elastic", "Elastic ES|QL", "ecs_windows"),
    "eql": ("elastic", "Elastic EQL", "ecs_windows"),
    "kusto": ("sentinel", "Microsoft Sentinel / Defender KQL", "microsoft_xdr"),
}
DEFAULT_TARGETS = ("splunk", "lucene", "esql", "eql", "kusto")  # in the order pages show them
FAMILY_LABELS = {"splunk": "Splunk", "elastic": "Elastic", "sentinel": "Microsoft Sentinel", "other": "Other"}
# Output formats that download MITRE ATT&CK from GitHub while converting (pySigma's sigma.data.mitre_attack):
# never offered; the catalog's Elastic export builds the same rule objects from its own ATT&CK data.
NETWORK_FORMATS = {"siem_rule", "siem_rule_ndjson"}
NO_PIPELINE = "none"


class UnknownChoice(ValueError):
    """A target, pipeline or format that is not installed or does not fit: the message lists the choices."""


@dataclass(frozen=True)
class Pipeline:
    id: str
    name: str
    priority: int
    allowed_backends: frozenset[str]
    version: str  # of the package that ships it


@dataclass(frozen=True)
class Target:
    id: str
    label: str
    family: str
    backend_class: type
    backend_version: str  # "pySigma-backend-splunk 2.1.0"
    formats: dict[str, str]  # format id -> pySigma's description
    pipelines: tuple[str, ...]  # offered pipeline ids, the default first
    default_pipeline: str  # NO_PIPELINE when the backend needs none
    correlation_methods: dict[str, str] = field(default_factory=dict)

    @property
    def family_label(self) -> str:
        return FAMILY_LABELS.get(self.family, self.family)

    def as_dict(self, registry: Registry) -> dict:
        return {
            "id": self.id,
            "label": self.label,
            "family": self.family,
            "backend_version": self.backend_version,
            "formats": self.formats,
            "default_pipeline": self.default_pipeline,
            "pipelines": [
                {"id": p, "name": registry.pipelines[p].name, "version": registry.pipelines[p].version}
                for p in self.pipelines
            ],
            "correlation_methods": self.correlation_methods,
        }


@dataclass
class Registry:
    targets: dict[str, Target]
    pipelines: dict[str, Pipeline]
    generators: dict[str, object]  # pipeline id -> pySigma's pipeline object or generator
    pysigma_version: str

    def target(self, target_id: str) -> Target:
        if target_id not in self.targets:
            raise UnknownChoice(f"Unknown target {target_id!r}; installed: {', '.join(self.ordered_ids())}.")
        return self.targets[target_id]

    def ordered_ids(self) -> list[str]:
        known = [t for t in DEFAULT_TARGETS if t in self.targets]
        return known + sorted(t for t in self.targets if t not in known)

    def ordered(self) -> list[Target]:
        return [self.targets[t] for t in self.ordered_ids()]

    def pipeline_ids(self, target: Target, asked: str | None) -> tuple[str, ...]:
        """The pipelines of a request, validated: '' or None -> the default; 'none' -> none; 'a,b' -> both."""
        asked = (asked or "").strip()
        if not asked:
            asked = target.default_pipeline
        if asked == NO_PIPELINE:
            return ()
        ids = tuple(dict.fromkeys(part.strip() for part in asked.split(",") if part.strip()))
        for pipeline_id in ids:
            if pipeline_id not in target.pipelines:
                offered = ", ".join([NO_PIPELINE, *target.pipelines])
                raise UnknownChoice(
                    f"Pipeline {pipeline_id!r} is not available for {target.id}; choose one of: {offered}."
                )
        return ids

    def output_format(self, target: Target, asked: str | None) -> str:
        asked = (asked or "").strip() or "default"
        if asked not in target.formats:
            raise UnknownChoice(
                f"Format {asked!r} is not available for {target.id}; choose one of: {', '.join(target.formats)}."
            )
        return asked

    def processing_pipeline(self, pipeline_ids: tuple[str, ...]) -> ProcessingPipeline | None:
        """pySigma's combined pipeline, merged by priority as its resolver does (a fresh object each call)."""
        if not pipeline_ids:
            return None
        made = [_instantiate(self.generators[p]) for p in pipeline_ids]
        ordered = sorted(zip(made, pipeline_ids, strict=True), key=lambda pair: (pair[0].priority, pair[1]))
        return sum((p for p, _ in ordered), ProcessingPipeline())

    def versions(self, target: Target, pipeline_ids: tuple[str, ...]) -> str:
        """Everything a converted query depends on besides the rule: the cache keys carry it."""
        parts = [f"pySigma {self.pysigma_version}", target.backend_version]
        parts += [f"{p} {self.pipelines[p].version}" for p in pipeline_ids]
        return "; ".join(parts)


def _instantiate(generator) -> ProcessingPipeline:
    if isinstance(generator, ProcessingPipeline):  # a plugin's ready-made pipeline: a copy, never the shared one
        return copy.deepcopy(generator)
    made = generator()  # a pipeline function, or a pySigma `Pipeline` wrapper (itself callable)
    return made() if not isinstance(made, ProcessingPipeline) and callable(made) else made


@functools.cache
def registry() -> Registry:
    """The installed targets and pipelines, discovered once per process."""
    plugins = InstalledSigmaPlugins.autodiscover(include_validators=False)
    versions = _distribution_versions()
    pipelines, generators = {}, {}
    for pipeline_id, generator in plugins.pipelines.items():
        try:
            made = _instantiate(generator)
        except Exception:  # a broken third-party pipeline must not take the catalog down
            continue
        generators[pipeline_id] = generator
        pipelines[pipeline_id] = Pipeline(
            id=pipeline_id,
            name=made.name or pipeline_id,
            priority=made.priority,
            allowed_backends=frozenset(made.allowed_backends or ()),
            version=_version_of(_top_module(generator), versions),
        )
    targets = {}
    for target_id, backend_class in plugins.backends.items():
        if target_id == "test" or backend_class.__module__.startswith("sigma.backends.test"):
            continue
        targets[target_id] = _target(target_id, backend_class, pipelines, versions)
    return Registry(targets, pipelines, generators, importlib.metadata.version("pySigma"))


def _target(target_id: str, backend_class: type, pipelines: dict[str, Pipeline], versions: dict[str, str]) -> Target:
    package = backend_class.__module__.split(".")[2] if backend_class.__module__.count(".") >= 2 else ""
    family, label, default = KNOWN_TARGETS.get(target_id, ("other", getattr(backend_class, "name", target_id), ""))
    offered = sorted(
        p.id
        for p in pipelines.values()
        if not p.allowed_backends or target_id in p.allowed_backends or package in p.allowed_backends
    )
    if default not in offered:
        default = NO_PIPELINE
    ordered = ([default] if default != NO_PIPELINE else []) + [p for p in offered if p != default]
    formats = {k: str(v) for k, v in (getattr(backend_class, "formats", None) or {"default": "queries"}).items()}
    return Target(
        id=target_id,
        label=label,
        family=family,
        backend_class=backend_class,
        backend_version=_version_of(backend_class.__module__, versions),
        formats={k: v for k, v in formats.items() if k not in NETWORK_FORMATS},
        pipelines=tuple(ordered),
        default_pipeline=default,
        correlation_methods=dict(getattr(backend_class, "correlation_methods", None) or {}),
    )


def _top_module(generator) -> str:
    """The module that defines a pipeline (a pySigma `Pipeline` decorator wraps the function in `func`)."""
    function = getattr(generator, "func", None) or generator
    return getattr(function, "__module__", None) or type(function).__module__


def _version_of(module: str, versions: dict[str, str]) -> str:
    """The distribution of a module, else of its closest package (a module made at run time has no file)."""
    while module:
        if module in versions:
            return versions[module]
        module = module.rpartition(".")[0]
    return ""


def _distribution_versions() -> dict[str, str]:
    """Module name -> "distribution version" for every module in the sigma namespace (pySigma's plugins
    all share it, so the distribution is found from the files it installed)."""
    found: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"] or ""
        if "sigma" not in name.lower():
            continue
        for file in dist.files or ():
            parts = file.parts
            if parts and parts[0] == "sigma" and file.suffix == ".py":
                module = ".".join(parts)[: -len(".py")].removesuffix(".__init__")
                found[module] = f"{name} {dist.version}"
    return found
