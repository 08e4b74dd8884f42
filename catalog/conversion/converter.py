"""Turn pySigma rule objects into one target's query text, the way pySigma itself does.

A conversion is `backend.convert(SigmaCollection(rules), format)`, exactly what sigma-cli and
pySigma's own examples run, so a query here is the query pySigma gives. What is added:
- every conversion gets a backend and pipelines of its own, made for it: pySigma's transformations
  keep state across conversions (pySigma-backend-kusto's InvalidFieldTransformation appends every
  failing field to its message), so a shared one let one rule's field names reach another rule's
  error, and the query cache. Making them costs about a millisecond (benchmarks/convert_bench.py);
  nothing is kept between conversions, so nothing grows with the pipelines asked for;
- a rule the backend cannot convert gives pySigma's message as an error, never an exception:
  SigmaError is what pySigma raises for a modifier, field or correlation a backend does not support;
  anything else is a bug in a backend, reported with its type so the rest of a bulk export goes on;
- inside a request (catalog.conversion.budget.request_budget) the conversion runs in a forked child
  under the request's time and memory budget, and its running out is the conversion's error;
- whether the query searches every event (catalog.conversion.constraint), read from the rules as the
  pipelines left them;
- a target that routes a log source to other pipelines (catalog.conversion.known: `sentinel`) converts
  a rule of that log source with those, and the answer names them.
Rules are modified by the pipelines they go through, so each conversion needs fresh rule objects.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field, replace

from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError
from sigma.filters import SigmaFilter
from sigma.processing.pipeline import ProcessingPipeline
from sigma.rule import SigmaLogSource, SigmaRule

from catalog.core.sigma.problems import error_message

from . import budget
from .constraint import unconstrained
from .targets import Registry, Target, registry

# Part of every cached query's key (Choice.versions): bumped when conversions made before could hold
# something other than the rule's own conversion. 2: backends were shared per thread, and a failing
# field of one rule leaked into the errors of others (kusto), so every query cached before is dropped.
ISOLATION_VERSION = "2"


@dataclass(frozen=True)
class Choice:
    """A validated request: a target, its pipelines and an output format."""

    target: Target
    pipelines: tuple[str, ...]
    output_format: str
    routes: tuple = ()  # the target's (Target.routes), when the pipelines are its default ones

    @property
    def pipeline(self) -> str:
        return ",".join(self.pipelines) or "none"

    @property
    def versions(self) -> str:
        routed = tuple(p for _, pipelines in self.routes for p in pipelines if p not in self.pipelines)
        versions = registry().versions(self.target, self.pipelines + routed)
        routes = "".join(f"; {'/'.join(v for _, v in where)}: {','.join(p)}" for where, p in self.routes)
        return f"{versions}{routes}; catalog conversion {ISOLATION_VERSION}"

    def for_rules(self, rules: list) -> Choice:
        """The choice a conversion of these rules makes: a route's pipelines when every rule is of its log source."""
        detections = [rule for rule in rules if isinstance(rule, SigmaRule)]
        for where, pipelines in self.routes:
            if detections and all(rule.logsource in SigmaLogSource(**dict(where)) for rule in detections):
                return replace(self, pipelines=pipelines, routes=())
        return self


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
    # Whether the query searches every event (catalog.conversion.constraint); None: no query, or not judged.
    unconstrained: bool | None = None

    def as_dict(self) -> dict:
        return {
            "query": self.query,
            "target": self.target,
            "pipeline": self.pipeline,
            "format": self.output_format,
            "backend_version": self.backend_version,
            "errors": self.errors,
            "unconstrained": self.unconstrained,
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
            unconstrained=data.get("unconstrained"),
        )


def choose(target: str | None, pipeline: str | None = None, output_format: str | None = None) -> Choice:
    """Validate a request's target, pipeline and format (UnknownChoice says what is wrong and what exists)."""
    reg = registry()
    chosen = reg.target((target or "").strip() or "splunk")
    pipelines = reg.pipeline_ids(chosen, pipeline)
    routes = chosen.routes if set(pipelines) == set(reg.pipeline_ids(chosen, None)) else ()
    return Choice(chosen, pipelines, reg.output_format(chosen, output_format), routes)


# What pySigma appends to a non-Sigma exception: the rule's path made absolute against the server's directory.
WHILE_CONVERTING = re.compile(r"\s*\(while [a-z ]+ rule [^()]*\)$")


def new_backend(choice: Choice, reg: Registry | None = None):
    """A backend for one conversion, with pipelines made for it (pySigma's transformations keep state).

    Pipelines a backend class holds as class attributes are shared by all its instances: each
    conversion gets its own copies of those that have items (none of the installed backends has one).
    """
    reg = reg or registry()
    backend = choice.target.backend_class(processing_pipeline=reg.processing_pipeline(choice.pipelines))
    if backend.backend_processing_pipeline.items:
        backend.backend_processing_pipeline = copy.deepcopy(backend.backend_processing_pipeline)
    by_format = backend.output_format_processing_pipeline
    if any(isinstance(p, ProcessingPipeline) and p.items for p in by_format.values()):
        backend.output_format_processing_pipeline = copy.deepcopy(by_format)
    return backend


def convert(rules: list, choice: Choice, main=None) -> Conversion:
    """Convert fresh pySigma rules (a rule, or a correlation with the rules it names) for one choice.

    `main`: the rule whose query is wanted, when the others are only there for it. pySigma outputs a
    correlation named by another correlation as well; its query is part of the outer one already.
    Inside a request's budget the work runs in a child process (catalog.conversion.budget).
    """
    try:
        return budget.run(_convert, rules, choice, main)
    except budget.BudgetExceeded as exc:
        return Conversion(
            None, choice.target.id, choice.pipeline, choice.target.backend_version, [str(exc)], choice.output_format
        )


def _convert(rules: list, choice: Choice, main) -> Conversion:
    choice = choice.for_rules(rules)
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
        output = new_backend(choice).convert(SigmaCollection(rules), choice.output_format)
    except SigmaError as exc:
        result.errors.append(error_message(exc))
        return result
    except MemoryError:
        if budget.in_child():
            raise  # the child's memory budget: reported as such by the parent
        result.errors.append(f"{choice.target.backend_id} backend failed: MemoryError")
        return result
    except Exception as exc:  # a backend bug: reported, never a 500 or a stopped export
        message = WHILE_CONVERTING.sub("", error_message(exc))  # pySigma appends the rule's file, resolved
        result.errors.append(f"{choice.target.backend_id} backend failed: {type(exc).__name__}: {message}")
        return result
    if isinstance(main, SigmaCorrelationRule) and choice.output_format == "default" and len(output or []) > 1:
        output = own_queries(main, output)
    result.query = query_text(output)
    is_text_list = isinstance(output, list) and all(isinstance(item, str) for item in output)
    result.queries = list(output) if is_text_list else ([result.query] if result.query else [])
    if not result.query:
        result.query = None
        result.errors.append(f"The {choice.target.backend_id} backend produced no query for this rule.")
    else:
        target = choice.target
        result.unconstrained = unconstrained(
            target.family, target.backend_id, choice.output_format, rules, result.queries
        )
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
