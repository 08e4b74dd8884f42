"""Issue 10, infrastructure: the byte-bounded page cache, streamed exports, long indicator tables paged,
and /api/docs/ served from the pinned sidecar package (no CDN, nothing inline for the CSP to refuse)."""

import csv
import io
import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext

from catalog.models import Rule
from catalog.platform.byte_cache import ENTRY_OVERHEAD, ByteBoundedCache

LONG_RULE_ID = "5b0c3a1e-0000-4c4e-9a57-3f0c2a7d1e99"
LOOKED = [f"looked-{n:03d}.exe" for n in range(30)]
EXCLUDED = [f"C:\\Allowed\\tool-{n:02d}.exe" for n in range(12)]


def test_the_byte_cache_keeps_at_most_its_bytes_least_recently_used_out_first():
    cache = ByteBoundedCache("t", {"OPTIONS": {"MAX_BYTES": 10_000, "MAX_ENTRY_BYTES": 4_000}})
    for n in range(10):
        cache.set(f"k{n}", b"x" * 2_000)
        assert cache.size_bytes <= 10_000
    kept = [n for n in range(10) if cache.get(f"k{n}") is not None]
    assert kept == [6, 7, 8, 9]  # 4 entries of ~2,250 bytes fit in 10,000
    cache.get("k6")  # read: now the most recent
    cache.set("new", b"y" * 2_000)
    assert cache.get("k6") is not None and cache.get("k7") is None
    cache.set("huge", b"z" * 5_000)  # over MAX_ENTRY_BYTES: not kept, nothing evicted for it
    assert cache.get("huge") is None and len(cache) == 4
    cache.delete("k6")
    assert cache.size_bytes == sum(len(cache.make_key(k)) for k in ("k8", "k9", "new")) + 3 * (
        ENTRY_OVERHEAD + len(__import__("pickle").dumps(b"x" * 2_000, cache.pickle_protocol))
    )


def test_expired_entries_are_gone():
    cache = ByteBoundedCache("t", {"OPTIONS": {"MAX_BYTES": 10_000}})
    cache.set("a", 1, timeout=0)
    assert cache.get("a") is None and cache.add("a", 2) and cache.get("a") == 2


@pytest.fixture
def long_rule(examples):
    from catalog.importing.importer import import_paths

    looked = "\n".join(f"            - '{value}'" for value in LOOKED)
    excluded = "\n".join(f"            - '{value}'" for value in EXCLUDED)
    (examples / "long.yml").write_text(
        f"title: A rule with long indicator tables\nid: {LONG_RULE_ID}\nstatus: test\nlevel: low\n"
        "logsource:\n    product: windows\n    category: process_creation\n"
        f"detection:\n    selection:\n        Image|endswith:\n{looked}\n"
        f"    filter:\n        Image|startswith:\n{excluded}\n"
        "    condition: selection and not filter\n",
        encoding="utf-8",
    )
    import_paths([str(examples)], source="ex")
    return Rule.objects.get(uuid=LONG_RULE_ID)


def values_shown(html: str, css_class: str) -> list[str]:
    return re.findall(rf'<a class="ind {css_class}[^"]*" href="/indicators/\d+/"><code>([^<]+)</code></a>', html)


@pytest.mark.django_db
def test_long_indicator_tables_are_cut_with_a_link_to_every_value_page_by_page(client, long_rule, monkeypatch):
    from catalog.browse.queries import rule_page

    monkeypatch.setattr(rule_page, "INDICATORS_SHOWN", 10)
    monkeypatch.setattr(rule_page, "INDICATORS_PER_PAGE", 7)
    monkeypatch.setattr(rule_page.indicator_table, "__defaults__", (10,))
    page = client.get(f"/rules/{LONG_RULE_ID}/").content.decode()
    section = page[page.index('id="indicators"') : page.index('id="details"')]
    assert values_shown(section, "ind-rare") == LOOKED[:10]
    assert values_shown(section, "ind-excluded") == EXCLUDED[:10]
    assert f"The first 10 of {len(LOOKED)} values" in section and f"The first 10 of {len(EXCLUDED)} values" in section
    assert f'href="/rules/{LONG_RULE_ID}/indicators/"' in section
    seen, excluded_seen = [], []
    for number in range(1, 6):
        html = client.get(f"/rules/{LONG_RULE_ID}/indicators/?page={number}&excluded_page={number}").content.decode()
        seen += values_shown(html, "ind-rare")
        if number <= 2:
            excluded_seen += values_shown(html, "ind-excluded")
    assert seen == LOOKED and excluded_seen == EXCLUDED  # every value once, in the rule's order


@pytest.mark.django_db
def test_the_indicator_pages_cost_the_same_queries_for_any_rule(client, long_rule, django_assert_num_queries):
    from tests.constants import CERTUTIL_ID

    for rule_id in (LONG_RULE_ID, CERTUTIL_ID):
        with django_assert_num_queries(5):  # the rule, then a count and a page for each table
            assert client.get(f"/rules/{rule_id}/indicators/").status_code == 200
    assert client.get("/rules/00000000-0000-0000-0000-000000000000/indicators/").status_code == 404


@pytest.mark.django_db
def test_the_csv_export_streams_its_header_before_reading_any_rule(client):
    response = client.get("/rules/export.csv?level=high")
    assert isinstance(response, StreamingHttpResponse)
    chunks = iter(response.streaming_content)
    with CaptureQueriesContext(connection) as queries:
        header = next(chunks).decode()
    assert len(queries) == 0 and header.startswith("id,title,status,level")
    rows = list(csv.reader(io.StringIO(header + b"".join(chunks).decode())))
    expected = Rule.objects.filter(hidden=False, retired=False, level="high", level_override="").count()
    expected += Rule.objects.filter(hidden=False, retired=False, level_override="high").count()
    assert len(rows) - 1 == expected > 0
    assert client.get("/rules/export.csv?level=bogus").status_code == 400  # checked before streaming


@pytest.mark.django_db
def test_the_navigator_layer_streams_valid_json(client):
    response = client.get("/attack/navigator.json")
    assert isinstance(response, StreamingHttpResponse) and response["Content-Type"] == "application/json"
    layer = json.loads(b"".join(response.streaming_content))
    tagged = Rule.objects.filter(hidden=False, retired=False, techniques__technique_id="T1105").distinct().count()
    assert {t["techniqueID"]: t["score"] for t in layer["techniques"]}["T1105"] == tagged > 0
    assert layer["gradient"]["maxValue"] == max(t["score"] for t in layer["techniques"])


@pytest.mark.django_db
def test_export_catalog_reads_in_keyset_batches_and_keeps_the_id_order(monkeypatch, tmp_path):
    from catalog.management.commands import export_catalog

    monkeypatch.setattr(export_catalog.export_order, "__defaults__", (4,))
    call_command("export_catalog", output=str(tmp_path / "out.jsonl"))
    lines = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    ids = [json.loads(line)["id"] for line in lines]
    assert ids == sorted(str(u) for u in Rule.objects.values_list("uuid", flat=True))
    assert len(ids) > 4 * 3  # several batches


@pytest.mark.django_db
def test_api_docs_are_served_from_the_pinned_package_with_nothing_inline(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<style" not in html and not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)  # nothing inline
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(src.startswith("/") for src in sources)  # no CDN
    static = [src.removeprefix("/static/") for src in sources if src.startswith("/static/")]
    assert any("swagger-ui-bundle.js" in src for src in static)
    for src in static:
        assert finders.find(src), src
    init = next(src for src in sources if "script" in src and not src.startswith("/static/"))
    script = client.get(init)
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.content.decode()
