"""Rule quality findings through the catalog: stored at import, on the rule page, in the API and export,
the quality facet, counts per source, /preview/; and on every SigmaHQ rule (the corpus the run imports once)."""

from __future__ import annotations

import socket

import pytest

from catalog.importing.importer import import_paths
from catalog.models import Rule

CLEAN_ID = "1c2d3e4f-0000-4a43-9a3e-5f6d7e8f9a01"
HIGH_ID = "1c2d3e4f-0000-4a43-9a3e-5f6d7e8f9a02"
REPAIRED_ID = "1c2d3e4f-0000-4a43-9a3e-5f6d7e8f9a03"
BODY = """\
status: test
description: A rule written by tests/importing/test_quality_import.py.
author: The tests
date: 2026-01-01
level: medium
falsepositives:
    - Administrative scripts
"""
RULES = {
    "proc_creation_win_quality_clean.yml": f"""\
title: Quality Clean Probe
id: {CLEAN_ID}
{BODY}tags:
    - attack.execution
    - attack.t1059.001
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        Image|endswith: '\\qualityprobe.exe'
    condition: selection
""",
    "proc_creation_win_quality_high.yml": f"""\
title: Quality High Probe
id: {HIGH_ID}
{BODY}logsource:
    product: windows
    category: process_creation
detection:
    selection:
        Image|endswith: '\\qualityprobe2.exe'
    unused:
        CommandLine|contains: 'never referenced'
    condition: selection
""",
    "proc_creation_win_quality_repaired.yml": f"""\
title: Quality Repaired Probe
id: {REPAIRED_ID}
{BODY}tags:
    - Execution
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        Image|endswith: '\\qualityprobe3.exe'
    condition: selection
""",
}


@pytest.fixture
def probe(db, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("networking is off in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)  # the import never waits on the network
    monkeypatch.setattr(socket, "create_connection", refuse)
    folder = tmp_path / "quality-probe"
    folder.mkdir()
    for name, text in RULES.items():
        (folder / name).write_text(text, encoding="utf-8")
    report = import_paths([str(folder)], source="quality-probe")
    assert report.created == 3 and not report.errors, [str(p) for p in report.errors]
    return folder


def test_findings_are_stored_and_an_unchanged_reimport_keeps_them(probe):
    stored = {str(r.uuid): r for r in Rule.objects.filter(source__name="quality-probe")}
    assert stored[CLEAN_ID].quality == "clean" and stored[CLEAN_ID].findings == []
    high = stored[HIGH_ID]
    assert high.quality == "high"
    assert {"validator": "dangling_detection", "severity": "high", "message": "Rule defines detection that is not "
            "referenced from condition (detection name: unused)"} in high.findings  # fmt: skip
    repaired = stored[REPAIRED_ID]
    assert repaired.quality == "medium"
    repair = [f for f in repaired.findings if f["validator"] == "import_repair"]
    assert repair and repair[0]["line"] == 10 and "tags without a namespace" in repair[0]["message"]
    again = import_paths([str(probe)], source="quality-probe")
    assert again.unchanged == 3 and again.updated == 0
    assert Rule.objects.get(uuid=HIGH_ID).findings == high.findings


def test_findings_on_the_page_api_facet_and_per_source(client, probe):
    page = client.get(f"/rules/{HIGH_ID}/").content.decode()
    assert 'id="quality-h">Quality<' in page and "<code>dangling_detection</code>" in page
    record = client.get(f"/api/rules/{HIGH_ID}/").json()
    assert record["quality"] == "high" and record["findings"][0]["validator"] == "dangling_detection"
    listed = client.get("/api/rules/", {"source": "quality-probe", "quality": ["high", "medium"]}).json()
    assert {r["id"] for r in listed["results"]} == {HIGH_ID, REPAIRED_ID}
    assert client.get("/api/rules/", {"quality": "awful"}).status_code == 400
    facet = client.get("/rules/", {"source": "quality-probe"}).content.decode()
    assert "quality=clean" in facet and "no findings" in facet
    (row,) = [r for r in client.get("/api/quality/").json()["sources"] if r["source"] == "quality-probe"]
    assert row == {"source": "quality-probe", "rules": 3, "high": 1, "medium": 1, "low": 0, "clean": 1,
                   "not_validated": 0}  # fmt: skip
    assert "Rule quality by source" in client.get("/").content.decode()


def test_preview_shows_the_findings_of_a_pasted_rule(client, probe):
    text = RULES["proc_creation_win_quality_high.yml"].replace(HIGH_ID, "1c2d3e4f-0000-4a43-9a3e-5f6d7e8f9a09")
    html = client.post("/preview/", {"yaml": text}).content.decode()
    assert "Quality</h3>" in html and "<code>dangling_detection</code>" in html
    assert "filename_length" not in html  # a pasted rule has no file name to judge


def test_every_sigmahq_rule_has_its_findings(client, corpus):
    """The whole corpus went through the validators: no rule without a quality, and the records say so."""
    assert corpus.count() > 3000
    assert not corpus.filter(quality="").exists()
    with_findings = corpus.exclude(quality="clean")
    assert 0 < with_findings.count() < corpus.count() // 10  # SigmaHQ's own rules pass its validators, mostly
    sample = with_findings.order_by("uuid").first()
    record = client.get(f"/api/rules/{sample.uuid}/").json()
    assert record["quality"] == sample.quality and record["findings"] == sample.findings != []
