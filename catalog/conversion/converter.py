"""Turn pySigma rule objects into one target's query text, the way pySigma itself does.

A conversion is `backend.convert(SigmaCollection(rules), format)`, exactly what sigma-cli and
pySigma's own examples run, so a query here is the query pySigma gives. What is added:
- backends are made once per (target, pipelines) and thread, not per rule (making the pipelines
  is most of a backend's cost); pySigma combines them afresh at every `convert`;
- a rule the backend cannot convert gives pySigma's message as an error, never an exception:
  SigmaError is what pySigma raises for a modifier, field or correlation a backend does not support;
  anything else is a bug in a backend, reported with its type so the rest of a bulk export goes on.
Rules are modified by the pipelines they go through, so each conversion needs fresh rule objects.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field

from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError
from sigma.filters import SigmaFilter

from catalog.sigma.problems import error_message

from .targets import Registry, Target, registry


@dataclass(frozen=True)
class Choice:
    """A validated request: a target, its pipelines and an output format."""

    target: Target
    pipelines: tuple[str, ...]
    output_format: str

    @property
    def pipeline(self) -> str:
        return ",".join(self.pipelines) or "none"

    @property
    def versions(self) -> str:
        return registry().versions(self.target, self.pipelines)


@dataclass
class Conversion:
    """The answer of the API and the rule page: the query, or why there is none."""

    query: str | None
    target: str
    pipeline: str
    backend_version: str
    errors: list[str] = field(default_factory=list)
    output_format: str = "default"
    queries: list[str] = field(default_factory=list)  # one per condition (bulk formats take exactly one)

    def as_dict(self) -> dict:
        return {
            "query": self.query,
            "target": self.target,
            "pipeline": self.pipeline,
            "format": self.output_format,
            "backend_version": self.backend_version,
            "errors": self.errors,
        }

    def cache_dict(self) -> dict:
        return {**self.as_dict(), "queries": self.queries}

    @classmethod
    def from_cache(cls, data: dict) -> Conversion:
        return cls(
            query=data["query"],
            target=data["target"],
            pipeline=data["pipeline"],
            backend_version=data["backend_version"],
            errors=list(data["errors"]),
            output_format=data["format"],
            queries=list(data["queries"]),
        )


def choose(target: str | None, pipeline: str | None = None, output_format: str | None = None) -> Choice:
    """Validate a request's target, pipeline and format (UnknownChoice says what is wrong and what exists)."""
    reg = registry()
    chosen = reg.target((target or "").strip() or "splunk")
    return Choice(chosen, reg.pipeline_ids(chosen, pipeline), reg.output_format(chosen, output_format))


_local = threading.local()
# What pySigma appends to a non-Sigma exception: the rule's path made absolute against the server's directory.
WHILE_CONVERTING = re.compile(r"\s*\(while [a-z ]+ rule [^()]*\)$")


def backend_for(choice: Choice, reg: Registry | None = None):
    """This thread's backend for a target and pipelines (pySigma backends keep per-conversion state)."""
    backends = getattr(_local, "backends", None)
    if backends is None:
        backends = _local.backends = {}
    key = (choice.target.id, choice.pipelines)
    if key not in backends:
        reg = reg or registry()
        backends[key] = choice.target.backend_class(processing_pipeline=reg.processing_pipeline(choice.pipelines))
    return backends[key]


def convert(rules: list, choice: Choice, main=None) -> Conversion:
    """Convert fresh pySigma rules (a rule, or a correlation with the rules it names) for one choice.

    `main`: the rule whose query is wanted, when the others are only there for it. pySigma outputs a
    correlation named by another correlation as well; its query is part of the outer one already.
    """
    result = Conversion(
        None, choice.target.id, choice.pipeline, choice.target.backend_version, [], choice.output_format
    )
    if not rules:
        result.errors.append("No rule to convert.")
        return result
    if all(isinstance(rule, SigmaFilter) for rule in rules):
        result.errors.append(
            "A filter is not converted on its own: it changes the rules it names, which are converted with it."
        )
        return result
    try:
        output = backend_for(choice).convert(SigmaCollection(rules), choice.output_format)
    except SigmaError as exc:
        result.errors.append(error_message(exc))
        return result
    except Exception as exc:  # a backend bug: reported, never a 500 or a stopped export
        message = WHILE_CONVERTING.sub("", error_message(exc))  # pySigma appends the rule's file, resolved
        result.errors.append(f"{choice.target.id} backend failed: {type(exc).__name__}: {message}")
        return result
    if isinstance(main, SigmaCorrelationRule) and choice.output_format == "default" and len(output or []) > 1:
        output = own_queries(main, output)
    result.query = query_text(output)
    is_text_list = isinstance(output, list) and all(isinstance(item, str) for item in output)
    result.queries = list(output) if is_text_list else ([result.query] if result.query else [])
    if not result.query:
        result.query = None
        result.errors.append(f"The {choice.target.id} backend produced no query for this rule.")
    return result


def own_queries(rule, output):
    """The queries pySigma recorded for one rule of the collection (else the whole output)."""
    try:
        own = rule.get_conversion_result()
    except SigmaError:
        return output
    return own if own else output


def query_text(output) -> str:
    """A backend's output as text: queries one per line; structured output as JSON."""
    if output is None:
        return ""
    if isinstance(output, str):
        return output
    if isinstance(output, list | tuple):
        if all(isinstance(item, str) for item in output):
            return "\n".join(output)
        return "\n".join(item if isinstance(item, str) else json.dumps(item, indent=2, default=str) for item in output)
    return json.dumps(output, indent=2, default=str)
