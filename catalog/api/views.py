"""Read-only API views. Each one runs a constant number of SQL queries (see tests/test_api.py)."""

from django.db.models import Count, F, OuterRef, Prefetch, Q, Subquery, Value
from django.db.models.functions import Coalesce, Concat
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.decorators import api_view
from rest_framework.response import Response
from rest_framework.reverse import reverse

from catalog import queries
from catalog.api import serializers as s
from catalog.api.filters import EventFilterSet, FieldFilterSet, TechniqueFilterSet
from catalog.api.pagination import Pagination
from catalog.models import EventType, Indicator, Rule, RuleIndicator, Tactic, Technique
from catalog.queries.filters import IndicatorFilterSet, RuleFilterSet
from catalog.queries.records import rules_for_export


def live(prefix):
    """Q for a relation's rules that listings count: not hidden, not retired (queries.live_rules)."""
    return Q(**{f"{prefix}__hidden": False, f"{prefix}__retired": False})


def live_rule_list():
    """The rules a pivot (indicator, technique, event) lists, for a Prefetch."""
    return queries.live_rules().order_by("title", "pk")


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
        "schema",
    ]
    entries = {name.split("-")[0]: reverse(f"api:{name}", request=request) for name in links}
    entries["changes"] = reverse("api-changes", request=request)  # a plain JSON view beside the DRF ones
    entries["match"] = reverse("api-match", request=request)  # POST an event
    return Response(entries)


class RuleList(generics.ListAPIView):
    """Rules, filtered exactly like /rules/ (same FilterSet). Retired rules only with `retired=true`."""

    serializer_class = s.RuleListSerializer
    filterset_class = RuleFilterSet
    pagination_class = Pagination

    def get_queryset(self):
        return queries.public_rules().select_related("source")

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)  # raises 400 with the form errors on bad values
        # RuleFilterSet's `sort` filter is a no-op: the ordering is the HTML list's (queries.sorted_rules).
        return queries.sorted_rules(queryset, self.request.query_params.get("sort"))


class RuleDetail(generics.RetrieveAPIView):
    """One rule in the export shape (`export_catalog`), plus the link to its HTML page."""

    serializer_class = s.RuleDetailSerializer
    filter_backends = []
    lookup_field = "uuid"

    def get_queryset(self):
        return rules_for_export(queries.public_rules())


class IndicatorList(generics.ListAPIView):
    """Indicators, most shared first, filtered like /indicators/ (same FilterSet)."""

    serializer_class = s.IndicatorSerializer
    filterset_class = IndicatorFilterSet
    pagination_class = Pagination
    queryset = Indicator.objects.order_by("-corpus_count", "field", "value", "pk")


class IndicatorDetail(generics.RetrieveAPIView):
    """One indicator and the (non-hidden, non-retired) rules carrying it."""

    serializer_class = s.IndicatorDetailSerializer
    filter_backends = []
    queryset = Indicator.objects.prefetch_related(
        Prefetch(
            "rule_indicators",
            queryset=RuleIndicator.objects.filter(live("rule"))
            .select_related("rule")
            .order_by("rule__title", "rule__pk"),
            to_attr="visible_rule_indicators",
        )
    )


def field_rows():
    """Per indicator field: rules and indicators, counting only non-hidden, non-retired rules."""
    return (
        RuleIndicator.objects.filter(live("rule"))
        .values(field=F("indicator__field"))
        .annotate(rules=Count("rule", distinct=True), indicators=Count("indicator", distinct=True))
    )


class FieldList(generics.ListAPIView):
    """Every field that rules test, most used first; keyword detections are the field "" (`-keywords-` in URLs)."""

    serializer_class = s.FieldSerializer
    filterset_class = FieldFilterSet
    pagination_class = Pagination

    def get_queryset(self):
        return field_rows().order_by("-rules", "field")


class FieldDetail(generics.RetrieveAPIView):
    """One field: its totals and the log sources of the rules that test it."""

    serializer_class = s.FieldDetailSerializer
    filter_backends = []

    def get_object(self):
        name = queries.field_from_param(self.kwargs["name"])
        totals = field_rows().filter(indicator__field=name).order_by("field").first()
        if totals is None:
            raise Http404(f"no indicator on field {name!r}")
        logsources = (
            RuleIndicator.objects.filter(live("rule"), indicator__field=name)
            .values(product=F("rule__product"), category=F("rule__category"), service=F("rule__service"))
            .annotate(rules=Count("rule", distinct=True))
            .order_by("-rules", "product", "category", "service")
        )
        return {**totals, "logsources": list(logsources)}


def technique_queryset():
    """Techniques with `rule_count` (tagged with exactly this id) and `rolled_count` (or a sub-technique).

    Correlated subqueries rather than a join + GROUP BY: each runs on the page's rows only.
    """
    tagged = Rule.techniques.through.objects.filter(live("rule")).order_by()
    direct = tagged.filter(technique=OuterRef("pk"))
    # "T1059" and "T1059.xxx", as an indexed range: "." sorts just before "/", digits after it.
    rolled = tagged.filter(
        technique__technique_id__gte=OuterRef("technique_id"),
        technique__technique_id__lt=Concat(OuterRef("technique_id"), Value("/")),
    )
    return (
        Technique.objects.annotate(rule_count=_count_rules(direct), rolled_count=_count_rules(rolled))
        .prefetch_related("tactics")
        .order_by("technique_id")
    )


def _count_rules(through_rows):
    """COUNT(DISTINCT rule_id) of a correlated queryset of Rule.techniques rows, as a subquery."""
    counted = through_rows.values(one=Value(1)).annotate(n=Count("rule_id", distinct=True)).values("n")
    return Coalesce(Subquery(counted), 0)


class TechniqueList(generics.ListAPIView):
    """ATT&CK coverage: every technique, with 0 for coverage gaps (`covered=false` lists only those)."""

    serializer_class = s.TechniqueSerializer
    filterset_class = TechniqueFilterSet
    pagination_class = Pagination

    def get_queryset(self):
        return technique_queryset()


class TechniqueDetail(generics.RetrieveAPIView):
    """One technique and the rules tagged with it (sub-technique rules: follow `rules_url`)."""

    serializer_class = s.TechniqueDetailSerializer
    filter_backends = []

    def get_object(self):
        queryset = technique_queryset().prefetch_related(
            Prefetch("rules", queryset=live_rule_list(), to_attr="visible_rules")
        )
        return get_object_or_404(queryset, technique_id=self.kwargs["technique_id"].upper())


class TacticList(generics.ListAPIView):
    """ATT&CK tactics in kill-chain order (legacy ones last), with the rules tagged with each."""

    serializer_class = s.TacticSerializer
    filter_backends = []
    pagination_class = Pagination
    queryset = Tactic.objects.annotate(rule_count=Count("rules", filter=live("rules"), distinct=True)).order_by(
        "legacy", "order", "shortname"
    )


class TacticDetail(generics.RetrieveAPIView):
    """One tactic and its techniques with their rule counts (`/api/attack/?tactic=` pages through the same)."""

    serializer_class = s.TacticDetailSerializer
    filter_backends = []

    def get_object(self):
        tactic = get_object_or_404(TacticList.queryset, shortname=self.kwargs["shortname"].lower())
        tactic.technique_list = list(technique_queryset().filter(tactics=tactic))
        return tactic


def event_queryset():
    return EventType.objects.annotate(rule_count=Count("rules", filter=live("rules"), distinct=True)).order_by(
        "provider", F("event_id").asc(nulls_first=True)
    )


class EventList(generics.ListAPIView):
    """Event coverage: provider, event id and title, with the number of rules covering each."""

    serializer_class = s.EventSerializer
    filterset_class = EventFilterSet
    pagination_class = Pagination

    def get_queryset(self):
        return event_queryset()


@extend_schema(
    parameters=[
        OpenApiParameter(
            "event_id", str, OpenApiParameter.PATH, description="an event id, or `any` for the whole channel"
        )
    ]
)
class EventDetail(generics.RetrieveAPIView):
    """One event (`any` = the whole channel) and the rules covering it."""

    serializer_class = s.EventDetailSerializer
    filter_backends = []

    def get_object(self):
        event_id = self.kwargs["event_id"]
        if event_id == "any":
            lookup = Q(event_id__isnull=True)
        elif event_id.isdigit():
            lookup = Q(event_id=int(event_id))
        else:
            raise Http404("event id must be a number or 'any'")
        queryset = event_queryset().prefetch_related(
            Prefetch("rules", queryset=live_rule_list(), to_attr="visible_rules")
        )
        return get_object_or_404(queryset, lookup, provider=self.kwargs["provider"])


class LogsourceList(generics.ListAPIView):
    """Product / category / service combinations with their non-hidden, non-retired rules."""

    serializer_class = s.LogsourceCountSerializer
    filter_backends = []
    pagination_class = Pagination
    queryset = (
        queries.live_rules()
        .order_by()
        .values("product", "category", "service")
        .annotate(rules=Count("pk"))
        .order_by("product", "category", "service")
    )
