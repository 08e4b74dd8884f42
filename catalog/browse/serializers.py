"""API representations. Rule detail is exactly catalog.browse.queries.records.rule_to_dict (plus `url`):
one contract.
"""

from urllib.parse import urlencode

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.browse.api_urls import api_url
from catalog.browse.queries.fields import field_param
from catalog.browse.queries.records import rule_to_dict
from catalog.models import Indicator, Polarity, Rule, Tactic, Technique


def rule_page(request, uuid):
    """The HTML page of a rule (a public path, part of the URL contract)."""
    return request.build_absolute_uri(f"/rules/{uuid}/")


class LogsourceSerializer(serializers.Serializer):
    product = serializers.CharField()
    category = serializers.CharField()
    service = serializers.CharField()


class RuleRefSerializer(serializers.ModelSerializer):
    """A rule as pivot pages list it: enough to show a row and follow the link."""

    id = serializers.UUIDField(source="uuid")
    level = serializers.CharField(source="effective_level", help_text="level_override or level")
    url = serializers.SerializerMethodField(help_text="the rule's HTML page")
    api_url = serializers.SerializerMethodField()

    class Meta:
        model = Rule
        fields = ["id", "title", "level", "url", "api_url"]

    def get_url(self, rule) -> str:
        return rule_page(self.context["request"], rule.uuid)

    def get_api_url(self, rule) -> str:
        return api_url(self.context["request"], "rule-detail", rule.uuid)


class RuleListSerializer(RuleRefSerializer):
    logsource = LogsourceSerializer(source="*")
    tags = serializers.ListField(
        child=serializers.CharField(),
        source="effective_tags",
        help_text="Sigma tags with curators' local additions and removals (what ?tag= matches)",
    )
    source = serializers.CharField(source="source.name")

    class Meta:
        model = Rule
        fields = [
            "id",
            "title",
            "status",
            "level",
            "logsource",
            "tags",
            "author",
            "date",
            "modified",
            "retired",
            "source",
            "path",
            "url",
            "api_url",
        ]


class RuleDetailSerializer(serializers.Serializer):
    """`rule_to_dict(rule)` plus `url`. The declared fields document the shape for the schema only."""

    id = serializers.UUIDField()
    title = serializers.CharField()
    type = serializers.CharField()
    name = serializers.CharField()
    status = serializers.CharField()
    level = serializers.CharField(help_text="the level as written in Sigma (curation.level_override overrides it)")
    description = serializers.CharField()
    author = serializers.CharField()
    date = serializers.DateField(allow_null=True)
    modified = serializers.DateField(allow_null=True)
    references = serializers.ListField(child=serializers.CharField())
    falsepositives = serializers.ListField(child=serializers.CharField())
    tags = serializers.ListField(child=serializers.CharField())
    license = serializers.CharField()
    related = serializers.JSONField()
    retired = serializers.BooleanField()
    source = serializers.CharField()
    path = serializers.CharField()
    logsource = LogsourceSerializer()
    attack = serializers.JSONField(help_text="[{tactic, technique_id, technique_name, known}]")
    events = serializers.JSONField(help_text="[{provider, event_id, title}]: the events its log source names")
    event_coverage = serializers.JSONField(
        help_text="[{provider, event_id, title, mapped, runnable, missing_fields, renames}]: every event it can run "
        "through (catalog taxonomy), a mapped one (Security 4688 for process_creation) with its field renames, "
        "runnable when the event carries every field the rule looks for"
    )
    conditions = serializers.JSONField()
    condition_tree = serializers.JSONField(allow_null=True)
    stages = serializers.JSONField(
        help_text="[{index, name, text, predicates: [{field, modifiers, values, combine, group, polarity}]}]"
    )
    indicators = serializers.JSONField(
        help_text="[{field, kind, value, transforms, cased, polarity, corpus_count, exclude_count}]: polarity is "
        "looks_for, excludes or both in this rule; corpus_count counts the live rules looking for the indicator, "
        "exclude_count those excluding it"
    )
    correlation = serializers.JSONField()
    filter_rules = serializers.JSONField()
    other_fields = serializers.JSONField()
    warnings = serializers.JSONField()
    quality = serializers.CharField(allow_null=True, help_text="worst finding: high, medium, low, clean")
    findings = serializers.JSONField(help_text="[{validator, severity, message, line?}]: validators, import repairs")
    curation = serializers.JSONField()
    matching_skipped = serializers.CharField(
        help_text="why event matching leaves this rule out (an aggregation not decidable on single events, a rule "
        "that cannot be rebuilt); empty when matching runs it"
    )
    url = serializers.URLField(help_text="the rule's HTML page")

    def to_representation(self, rule):
        return {**rule_to_dict(rule), "url": rule_page(self.context["request"], rule.uuid)}


class IndicatorSerializer(serializers.ModelSerializer):
    value = serializers.CharField(source="display", help_text="as first written, without outer wildcards")
    polarity = serializers.ChoiceField(
        choices=Polarity.choices, read_only=True, help_text="looked for by live rules, excluded by them, or both"
    )
    corpus_count = serializers.IntegerField(read_only=True, help_text="live, public rules looking for it")
    exclude_count = serializers.IntegerField(read_only=True, help_text="live, public rules excluding it")
    url = serializers.SerializerMethodField()

    class Meta:
        model = Indicator
        fields = [
            "id",
            "field",
            "kind",
            "value",
            "transforms",
            "cased",
            "polarity",
            "corpus_count",
            "exclude_count",
            "url",
        ]

    def get_url(self, indicator) -> str:
        return api_url(self.context["request"], "indicator-detail", indicator.pk)


class IndicatorRuleSerializer(RuleRefSerializer):
    written = serializers.CharField(help_text="the value as this rule writes it")
    polarity = serializers.ChoiceField(
        choices=Polarity.choices, help_text="whether this rule looks for the indicator, excludes it, or both"
    )

    class Meta(RuleRefSerializer.Meta):
        fields = RuleRefSerializer.Meta.fields + ["written", "polarity"]


class IndicatorDetailSerializer(IndicatorSerializer):
    rule_list = serializers.SerializerMethodField(
        help_text="non-hidden, non-retired rules carrying it, each with its polarity (looks_for, excludes, both)"
    )

    class Meta(IndicatorSerializer.Meta):
        fields = IndicatorSerializer.Meta.fields + ["rule_list"]

    @extend_schema_field(IndicatorRuleSerializer(many=True))
    def get_rule_list(self, indicator):
        # `visible_rule_indicators` is prefetched by the view; `written` is the rule's own spelling.
        rules = []
        for ri in indicator.visible_rule_indicators:
            ri.rule.written = ri.written
            ri.rule.polarity = ri.polarity
            rules.append(ri.rule)
        return IndicatorRuleSerializer(rules, many=True, context=self.context).data


class FieldSerializer(serializers.Serializer):
    field = serializers.CharField()
    rules = serializers.IntegerField(help_text="non-hidden, non-retired rules with an indicator on this field")
    indicators = serializers.IntegerField(help_text="distinct indicators on this field carried by those rules")
    rules_looking = serializers.IntegerField(help_text="those rules looking for a value of this field")
    rules_excluding = serializers.IntegerField(help_text="those rules excluding a value of this field")
    url = serializers.SerializerMethodField()

    def get_url(self, row) -> str:
        return api_url(self.context["request"], "field-detail", field_param(row["field"]))


class LogsourceCountSerializer(LogsourceSerializer):
    rules = serializers.IntegerField()


class FieldDetailSerializer(FieldSerializer):
    logsources = LogsourceCountSerializer(many=True)
    indicators_url = serializers.SerializerMethodField()

    def get_indicators_url(self, row) -> str:
        # ?field= (empty) would not filter at all: field-less indicators are the `keyword` kind.
        query = {"field": row["field"]} if row["field"] else {"kind": "keyword"}
        return api_url(self.context["request"], "indicator-list") + "?" + urlencode(query)


class TechniqueSerializer(serializers.ModelSerializer):
    tactics = serializers.SlugRelatedField(slug_field="shortname", many=True, read_only=True)
    rules = serializers.IntegerField(source="rule_count", help_text="non-hidden, non-retired rules tagged with it")
    rules_with_subtechniques = serializers.IntegerField(
        source="rolled_count",
        help_text="the same, counting rules tagged with one of its sub-techniques too",
    )
    url = serializers.SerializerMethodField()

    class Meta:
        model = Technique
        fields = ["technique_id", "name", "known", "tactics", "rules", "rules_with_subtechniques", "url"]

    def get_url(self, technique) -> str:
        return api_url(self.context["request"], "technique-detail", technique.technique_id)


class TechniqueDetailSerializer(TechniqueSerializer):
    rule_list = RuleRefSerializer(source="visible_rules", many=True, help_text="rules tagged with exactly this id")
    rules_url = serializers.SerializerMethodField(help_text="/api/rules/ filtered on it, sub-techniques included")

    class Meta(TechniqueSerializer.Meta):
        fields = TechniqueSerializer.Meta.fields + ["rule_list", "rules_url"]

    def get_rules_url(self, technique) -> str:
        return api_url(self.context["request"], "rule-list") + "?" + urlencode({"technique": technique.technique_id})


class TacticSerializer(serializers.ModelSerializer):
    rules = serializers.IntegerField(source="rule_count", help_text="non-hidden, non-retired rules tagged with it")
    url = serializers.SerializerMethodField()

    class Meta:
        model = Tactic
        fields = ["shortname", "attack_id", "name", "legacy", "rules", "url"]

    def get_url(self, tactic) -> str:
        return api_url(self.context["request"], "tactic-detail", tactic.shortname)


class TacticDetailSerializer(TacticSerializer):
    techniques = TechniqueSerializer(source="technique_list", many=True)

    class Meta(TacticSerializer.Meta):
        fields = TacticSerializer.Meta.fields + ["techniques"]


class EventSerializer(serializers.Serializer):
    provider = serializers.CharField()
    event_id = serializers.IntegerField(allow_null=True, help_text="null: the whole channel")
    title = serializers.CharField()
    rules = serializers.IntegerField(
        source="rule_count",
        help_text="non-hidden, non-retired rules it runs (each looked-for field carried, natively or renamed): "
        "the runnable rules of /coverage/ for a profile of this one event",
    )
    rules_partial = serializers.IntegerField(
        source="partial_count", help_text="rules it runs without some of their looked-for fields"
    )
    url = serializers.SerializerMethodField()

    def get_url(self, event) -> str:
        event_id = "any" if event.event_id is None else event.event_id
        return api_url(self.context["request"], "event-detail", event.provider, event_id)


class EventMappingSerializer(serializers.Serializer):
    category = serializers.CharField()
    renames = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField()), help_text="[Sigma field, event field] pairs"
    )


class EventFactsSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="the event as /coverage/ profiles write it: security:4688")
    categories = serializers.ListField(child=serializers.CharField(), help_text="log categories it backs natively")
    mapped = EventMappingSerializer(many=True, help_text="categories it backs through a pipeline's field mapping")


class EventDetailSerializer(EventSerializer):
    rule_list = RuleRefSerializer(source="visible_rules", many=True, help_text="non-hidden, non-retired rules it runs")
    taxonomy = EventFactsSerializer(source="facts")
