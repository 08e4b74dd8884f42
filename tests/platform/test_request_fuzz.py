"""Query-string fuzzing over every public route: no request may end in a 5xx (issue 8, section 6).

The routes are read from the URL configuration (config.urls with catalog.browse.urls; the admin, which
is Django's own and only redirects anonymous visitors, is left out), so a new route is fuzzed
without editing this file. Path parameters get real values from the example rules and hostile ones;
each route then gets a few mutated query strings (NUL bytes, lone surrogates, huge values, unknown
and repeated parameters, negative, huge and non-numeric page numbers, wrong types), drawn from a
fixed seed so a failure repeats. Runs on whichever database the suite runs on.
"""

import random
import re
import time
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from catalog.models import EventType, Indicator, Rule, RuleIndicator, Tactic, Technique

pytestmark = pytest.mark.django_db

SEED = 20261130
MUTATIONS_PER_ROUTE = 8
PARAMETER = re.compile(r"<(?:(\w+):)?(\w+)>")
PARAMETERS = [
    "q", "status", "level", "product", "category", "service", "tactic", "technique", "tag", "author", "source",
    "type", "retired", "verified", "sort", "field", "kind", "value", "min_count", "covered", "known", "provider",
    "page", "run", "format", "ordering", "limit", "offset",
]  # fmt: skip
HOSTILE_VALUES = [
    "%00", "a%00b", "%ED%A0%80", "%FF", "%C0%AF", "a" * 1001, "x" * 100_000, "-1", "0", "-99999999999999999999",
    "99999999999999999999", "1e309", "NaN", "abc", "true", "yes", "%27%20OR%201=1--", "%3Cscript%3E", "..%2F..%2F",
    "%25", "%", "%2", "%u0041", "%C3%BC", "%F0%9F%98%80", "", "%20", "+", "[]", "{}", "null", "%C2%B9",
]  # fmt: skip
HOSTILE_PATH_VALUES = [
    "%00", "%ED%A0%80", "%FF", "a" * 300, "..", "%2E%2E", "-1", "0", "99999999999999999999", "%27", "%3Cx%3E", "%25",
    "00000000-0000-0000-0000-000000000000", "%C3%BC", "a%2Fb",
    "%C2%B9", "%D9%A3",  # superscript one and Arabic-Indic three: str.isdigit() is true, int() of the first fails
]  # fmt: skip


def routes() -> list[str]:
    """Every route of the site but the admin, as 'path/with/<converter:name>/' patterns."""
    found = []

    def walk(patterns, prefix):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if route.startswith("admin/"):
                continue
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                found.append(route.lstrip("^").rstrip("$"))

    walk(get_resolver().url_patterns, "")
    return sorted(set(found))


def real_values() -> dict[str, list[str]]:
    """Real path values by parameter name, from the catalog the test sees (the example rules)."""
    rule = Rule.objects.order_by("pk").first()
    indicator = Indicator.objects.order_by("pk").first()
    field = RuleIndicator.objects.exclude(indicator__field="").values_list("indicator__field", flat=True).first()
    event = EventType.objects.order_by("pk").first()
    technique = Technique.objects.filter(rules__isnull=False).order_by("pk").first() or Technique.objects.first()
    tactic = Tactic.objects.order_by("pk").first()
    return {
        "rule_uuid": [str(rule.uuid)],
        "uuid": [str(rule.uuid)],
        "pk": [str(indicator.pk)],
        "name": [quote(field or "CommandLine"), "-keywords-"],
        "shortname": [tactic.shortname if tactic else "execution"],
        "technique_id": [technique.technique_id if technique else "T1059"],
        "provider": [quote(event.provider) if event else "Microsoft-Windows-Sysmon"],
        "event": [str(event.event_id) if event and event.event_id is not None else "any", "any"],
        "event_id": [str(event.event_id) if event and event.event_id is not None else "1", "any"],
    }


def fill(route: str, choose) -> str:
    return "/" + PARAMETER.sub(lambda m: choose(m.group(2)), route)


def mutated_query(rng: random.Random) -> str:
    """A query string of 1-4 parameters: known and unknown names, hostile values, repeats."""
    pairs = []
    for _ in range(rng.randint(1, 4)):
        name = rng.choice(PARAMETERS + ["unknown", "%00", "page", "page"])
        value = rng.choice(HOSTILE_VALUES)
        pairs.extend([(name, value)] * rng.choice([1, 1, 2, 3]))
    return "&".join(f"{name}={value}" for name, value in pairs)


def test_no_route_answers_a_mutated_query_with_a_server_error(example_rules, settings):
    settings.REST_FRAMEWORK = {  # a few hundred requests from one address: the rate limits are not the subject
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "100000/minute", "match": "100000/minute"},
    }
    rng = random.Random(SEED)
    values = real_values()
    client = Client(raise_request_exception=False)
    all_routes = routes()
    assert len(all_routes) >= 30 and "api/match/" in all_routes and "rules/<uuid:rule_uuid>/" in all_routes
    failures, statuses, started = [], {}, time.perf_counter()
    for route in all_routes:
        urls = [fill(route, lambda name: values.get(name, ["x"])[0])]
        if PARAMETER.search(route):
            urls += [fill(route, lambda name: rng.choice(HOSTILE_PATH_VALUES)) for _ in range(3)]
        for url in urls:
            queries = [""] + [mutated_query(rng) for _ in range(MUTATIONS_PER_ROUTE // len(urls) + 1)]
            for query in queries:
                full = f"{url}?{query}" if query else url
                response = client.get(full)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                if response.status_code >= 500:
                    failures.append((full[:200], response.status_code))
    total = sum(statuses.values())
    print(f"\n{total} requests over {len(all_routes)} routes in {time.perf_counter() - started:.1f} s: {statuses}")
    assert total >= 300
    assert not failures, failures[:20]
    assert statuses.get(200, 0) > 0 and statuses.get(400, 0) > 0  # both the real and the hostile got through


def test_every_hostile_path_value_in_every_path_parameter_gets_a_client_error(example_rules, settings):
    """Not drawn at random: each hostile value in each path parameter of each route, the others real.

    "¹" is the case that got through the random walk: str.isdigit() accepts it, int() does not.
    """
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "100000/minute", "match": "100000/minute"},
    }
    values = real_values()
    client = Client(raise_request_exception=False)
    failures, requests = [], 0
    for route in routes():
        names = [match.group(2) for match in PARAMETER.finditer(route)]
        for hostile_name in names:
            for hostile in HOSTILE_PATH_VALUES:
                url = fill(
                    route, lambda name, h=hostile_name, v=hostile: v if name == h else values.get(name, ["x"])[0]
                )
                response = client.get(url)
                requests += 1
                if response.status_code >= 500:
                    failures.append((url[:200], response.status_code))
    assert requests >= 200
    assert not failures, failures[:20]
