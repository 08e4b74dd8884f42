"""Read-only API views: each calls the query function of its HTML twin (catalog.browse.queries) and only
shapes the result.

"Build the data once, render it twice": a fix in catalog.browse/queries reaches the page and its JSON
twin together (tests/browse/test_read_path.py lists the pairs). Each view runs a constant number of SQL
queries (pinned in tests/browse/test_api.py).
"""

from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404
from django_filters.utils import translate_validation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.decorators import api_view
from rest_framework.response import Response
from rest_framework.reverse import reverse

from catalog.browse import serializers as s
from catalog.browse.api_filters import EventFilterSet, FieldFilterSet, TechniqueFilterSet
from catalog.browse.queries import attack, events, fields, indicators, rule_page, rules
from catalog.browse.queries import overview as overview_queries
from catalog.browse.queries.filtersets import RuleFilterSet
from catalog.browse.queries.indicator_search import IndicatorFilterSet
from catalog.browse.views import canonical_redirect
from catalog.models import Indicator, Rule
from catalog.models.rules import LISTING_DEFERRED
from catalog.platform import fragments
from catalog.platform.api_pagination import Pagination
from catalog.platform.api_strict import StrictListAPIView
from catalog.platform.parameters import declare, reads_parameters

# What a single object's view reads: DRF's renderer choice (catalog.platform.parameters).
RENDERER_CHOICE = declare(["format"])


@reads_parameters("format")
@extend_schema(responses=OpenApiTypes.OBJECT)
@api_view(["GET"])
def api_root(request, format=None):
    """The API's entry points."""
    links = [
        "rule-list",
        "indicator-list",
        "field-list",
        "technique-list",
        "tactic-list",
        "event-list",
        "logsource-list",
        "quality",
    ]
    entries = {name.split("-")[0]: reverse(f"browse:api-{name}", request=request) for name in links}
    entries["schema"] = reverse("platform:api-schema", request=request)
    entries["changes"] = reverse("changes:api-list", request=request)  # a plain JSON view beside the DRF ones
    entries["match"] = reverse("matching:api-match", request=request)  # POST an event
    entries["targets"] = reverse("conversion:api-targets", request=request)  # SIEM conversion targets and pipelines
    entries["convert"] = reverse("conversion:api-convert", request=request)  # POST Sigma YAML, get a query
    return Response(entries)


@reads_parameters("format")
@extend_schema(
    responses=OpenApiTypes.OBJECT,
    description="Rule quality by source, as the front page shows it: {sources: [{source, rules, high, medium, low, "
    "clean, not_validated}]}, live rules counted by the worst severity of their findings (catalog.core.quality); "
    "`/api/rules/?quality=high&source=NAME` lists them.",
)
@api_view(["GET"])
def quality(request, format=None):
    return Response({"sources": overview_queries.quality_by_source()})


class RuleList(StrictListAPIView):
    """Rules, filtered and sorted exactly like /rules/ (same query). Retired rules only with `retired=true`."""

    serializer_class = s.RuleListSerializer
    filterset_class = RuleFilterSet  # documents the parameters; filter_queryset applies them as /rules/ does
    pagination_class = Pagination

    def get_queryset(self):
        return Rule.objects.public().select_related("source").defer(*LISTING_DEFERRED)

    def filter_queryset(self, queryset):
        # Every public rule, like the page; the catalog version, when the page cache read it already.
        filterset = rules.rule_filterset(self.request.query_params, catalog_state=fragments.state(self.request))
        if not filterset.is_valid():
            raise translate_validation(filterset.errors)  # 400 with the form errors
        found = rules.filtered_rules(filterset)
        # The page's ids come from the sort alone; its rows (wide: a SQLite sort would carry each match's
        # whole row) are read by id after (catalog.platform.paging).
        found.rows_by_id = lambda ids: queryset.filter(pk__in=ids)
        return found


class RuleDetail(generics.RetrieveAPIView):
    """One rule in the export shape (`export_catalog`), plus the link to its HTML page."""

    query_parameters = RENDERER_CHOICE

    serializer_class = s.RuleDetailSerializer
    filter_backends = []
    lookup_field = "uuid"
    queryset = Rule.objects.none()  # the schema's model; the rule comes from rule_page.public_rule

    def get_object(self):
        rule = rule_page.public_rule(self.kwargs["uuid"])
        if rule is None:
            raise Http404("No such rule in the catalog.")
        return rule


class IndicatorList(StrictListAPIView):
    """Indicators that live rules carry, most shared first, filtered like /indicators/ (same FilterSet)."""

    serializer_class = s.IndicatorSerializer
    filterset_class = IndicatorFilterSet  # documents the parameters; filter_queryset applies them
    pagination_class = Pagination

    def get_queryset(self):
        return indicators.listed_indicators()

    def filter_queryset(self, queryset):
        filterset = indicators.indicator_filterset(self.request.query_params)
        if not filterset.is_valid():
            raise translate_validation(filterset.errors)
        return indicators.searched_indicators(filterset)


class IndicatorDetail(generics.RetrieveAPIView):
    """One indicator and the (non-hidden, non-retired) rules carrying it; 404 when only hidden rules do."""

    query_parameters = RENDERER_CHOICE

    serializer_class = s.IndicatorDetailSerializer
    filter_backends = []
    queryset = Indicator.objects.none()  # the schema's model

    def get_object(self):
        indicator = get_object_or_404(Indicator, pk=self.kwargs["pk"])
        carried = list(indicators.indicator_rules(indicator))  # public rules, live first
        if not carried:
            raise Http404("No public rule carries this indicator.")
        indicator.visible_rule_indicators = [ri for ri in carried if not ri.rule.retired]
        return indicator


class FieldList(StrictListAPIView):
    """Every field that rules test, most used first; keyword detections are the field "" (`-keywords-` in URLs)."""

    serializer_class = s.FieldSerializer
    filterset_class = FieldFilterSet
    pagination_class = Pagination

    def get_queryset(self):
        return fields.field_counts()

    def filter_queryset(self, queryset):
        params = self.request.query_params
        logsource = {key: params.get(key, "").strip() for key in fields.LOGSOURCE_KEYS}
        return fields.field_counts(logsource, contains=params.get("q", "").strip())


class FieldDetail(generics.RetrieveAPIView):
    """One field: its totals and the log sources of the rules that test it."""

    query_parameters = RENDERER_CHOICE

    serializer_class = s.FieldDetailSerializer
    filter_backends = []

    def get_object(self):
        name = fields.field_from_param(self.kwargs["name"])
        summary = fields.field_summary(name)
        if summary is None:
            raise Http404(f"no live rule tests the field {name!r}")
        return {**summary, "logsources": fields.field_logsources(name)}


class TechniqueList(StrictListAPIView):
    """ATT&CK coverage: every technique, with 0 for coverage gaps (`covered=false` lists only those)."""

    serializer_class = s.TechniqueSerializer
    filterset_class = TechniqueFilterSet
    pagination_class = Pagination

    def get_queryset(self):
        return attack.techniques_with_counts().prefetch_related("tactics")


class TechniqueDetail(generics.RetrieveAPIView):
    """One technique and the rules tagged with it (sub-technique rules: follow `rules_url`)."""

    query_parameters = RENDERER_CHOICE

    serializer_class = s.TechniqueDetailSerializer
    filter_backends = []

    def get_object(self):
        tagged = Rule.objects.live().order_by("sort_title", "pk")
        queryset = attack.techniques_with_counts().prefetch_related(
            "tactics", Prefetch("rules", queryset=tagged, to_attr="visible_rules")
        )
        return get_object_or_404(queryset, technique_id=self.kwargs["technique_id"].upper())


class TacticList(StrictListAPIView):
    """ATT&CK tactics in kill-chain order (legacy ones last), with the rules tagged with each."""

    serializer_class = s.TacticSerializer
    filter_backends = []
    pagination_class = Pagination

    def get_queryset(self):
        return attack.tactics_with_counts()


class TacticDetail(generics.RetrieveAPIView):
    """One tactic and its techniques with their rule counts (`/api/attack/?tactic=` pages through the same)."""

    query_parameters = RENDERER_CHOICE

    serializer_class = s.TacticDetailSerializer
    filter_backends = []

    def get_object(self):
        tactic = attack.tactic_named(self.kwargs["shortname"])
        if tactic is None:
            raise Http404("No such ATT&CK tactic.")
        tactic.technique_list = list(attack.tactic_techniques(tactic).prefetch_related("tactics"))
        return tactic


class EventList(StrictListAPIView):
    """Event coverage: provider, event id and title, with the number of rules covering each."""

    serializer_class = s.EventSerializer
    filterset_class = EventFilterSet
    pagination_class = Pagination

    def get_queryset(self):
        return events.events_with_counts()


@extend_schema(
    parameters=[
        OpenApiParameter(
            "event_id", str, OpenApiParameter.PATH, description="an event id, or `any` for the whole channel"
        )
    ]
)
class EventDetail(generics.RetrieveAPIView):
    """One event (`any` = the whole channel) and the rules covering it."""

    query_parameters = RENDERER_CHOICE

    serializer_class = s.EventDetailSerializer
    filter_backends = []

    def get(self, request, *args, **kwargs):
        provider, event = self.kwargs["provider"], self.kwargs["event_id"]
        spelled = events.canonical(provider, event)
        if spelled is not None and spelled != (provider, event):  # any case -> the canonical URL, like the page
            return canonical_redirect(request, "browse:api-event-detail", *spelled)
        return super().get(request, *args, **kwargs)

    def get_object(self):
        event = events.event_type(self.kwargs["provider"], self.kwargs["event_id"])
        if event is None:
            raise Http404("No such event in the catalog (the event id is a number or 'any').")
        event.visible_rules = list(events.event_rules(event))
        event.facts = events.event_facts(event)
        return event


class LogsourceList(StrictListAPIView):
    """Product / category / service combinations with their non-hidden, non-retired rules."""

    serializer_class = s.LogsourceCountSerializer
    filter_backends = []
    pagination_class = Pagination

    def get_queryset(self):
        return events.logsource_counts()
