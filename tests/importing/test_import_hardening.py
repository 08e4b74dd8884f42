"""One bad file never stops an import, no file is read that could hang it, no rule is lost to a read error.

Each test is a repro from issue 8 (sections 2, 3, 4 and 6): 16 valid rule files plus one bad one
must import the 16 and name the bad file and line. Files are written into tmp_path by the tests.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import resource
import shutil
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.importing import checks, preparing
from catalog.importing.importer import import_paths
from catalog.importing.reimport import reimport
from catalog.models import CatalogVersion, Rule, Source
from tests.constants import EXAMPLE_RULES

pytestmark = pytest.mark.django_db

VALID_FILES = 16


def rule_text(title: str, rule_id: str | None = None, value: str = "'evil.exe'") -> str:
    return (
        f"title: {title}\n"
        f"id: {rule_id or uuid.uuid4()}\n"
        "status: test\n"
        "logsource:\n"
        "    category: process_creation\n"
        "    product: windows\n"
        "detection:\n"
        "    selection:\n"
        f"        Image|endswith: {value}\n"
        "    condition: selection\n"
        "level: high\n"
    )


def folder_with_valid_rules(tmp_path: Path, name: str = "repo") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for n in range(VALID_FILES):
        (folder / f"valid_{n:02}.yml").write_text(rule_text(f"Valid rule {n}"), encoding="utf-8")
    return folder


def errors_of(report) -> list[str]:
    return [str(p) for p in report.errors]


# -- section 2: each file in isolation ------------------------------------------------------------
def test_a_null_key_in_a_detection_fails_that_file_only(tmp_path):
    folder = folder_with_valid_rules(tmp_path)
    (folder / "null_key.yml").write_text(
        rule_text("Null key").replace("    condition: selection\n", "    ~:\n        F: v\n    condition: selection\n")
    )
    report = import_paths([str(folder)], source="hardening")
    assert report.created == VALID_FILES
    assert len(report.errors) == 1
    problem = report.errors[0]
    assert problem.path == "repo/null_key.yml" and problem.line >= 1, errors_of(report)


def test_any_exception_while_parsing_one_file_becomes_that_files_problem(tmp_path, monkeypatch):
    """Whatever the parser raises (here a RecursionError, as 1,000 nested `- - -` gave), one file fails."""
    folder = folder_with_valid_rules(tmp_path)
    (folder / "deep.yml").write_text(rule_text("Deep"))
    parse_file = preparing.parse_file

    def parse_or_recurse(data, path, limits):
        if path.endswith("deep.yml"):
            raise RecursionError("maximum recursion depth exceeded")
        return parse_file(data, path, limits)

    monkeypatch.setattr(preparing, "parse_file", parse_or_recurse)
    report = import_paths([str(folder)], source="hardening")
    assert report.created == VALID_FILES
    assert len(report.errors) == 1
    assert str(report.errors[0]).startswith(
        "repo/deep.yml:1: could not be parsed (RecursionError: maximum recursion depth exceeded, in "
    )


@pytest.mark.parametrize(
    ("where", "text", "line"),
    [
        ("title", rule_text('"a\\0b"'), 1),
        ("detection value", rule_text("Nul value", value='"evil\\x00.exe"'), 9),
        ("list in JSON", rule_text("Nul in JSON") + 'falsepositives:\n    - "\\u0000"\n', 13),
        ("tag", rule_text("Nul tag") + 'tags:\n    - "attack.t1\\U00000000"\n', 13),
    ],
    ids=["title", "detection value", "list in JSON", "tag"],
)
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_a_nul_character_in_a_value_is_rejected_for_its_file_before_writing(tmp_path, where, text, line, encoding):
    """PostgreSQL stores no NUL character: today the COPY fails and the whole import with it."""
    folder = folder_with_valid_rules(tmp_path)
    (folder / "nul.yml").write_text(text, encoding=encoding)  # Python's utf-16 writes a byte-order mark
    report = import_paths([str(folder)], source="hardening")
    assert report.created == VALID_FILES, errors_of(report)
    assert [(p.path, p.line) for p in report.errors] == [("repo/nul.yml", line)], where
    assert "NUL character" in report.errors[0].message
    assert Rule.objects.filter(source__name="hardening").count() == VALID_FILES


# -- section 3: nothing read that could hang or exhaust the import ----------------------------------
def test_a_fifo_named_like_a_rule_is_reported_not_read(tmp_path):
    folder = folder_with_valid_rules(tmp_path)
    fifo = folder / "x.yml"
    os.mkfifo(fifo)
    stop = threading.Event()

    def unblock_a_reader():
        """An import that opens the FIFO would wait forever for a writer: be that writer, briefly."""
        while not stop.wait(0.05):
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:  # ENXIO: nobody has it open for reading (the fixed import never does)
                assert exc.errno == errno.ENXIO
                continue
            os.write(fd, b"title: from the fifo\n")
            os.close(fd)
            return

    writer = threading.Thread(target=unblock_a_reader, daemon=True)
    writer.start()
    try:
        report = import_paths([str(folder)], source="hardening")
    finally:
        stop.set()
        writer.join()
    assert report.created == VALID_FILES
    assert errors_of(report) == ["repo/x.yml:0: a FIFO, not a regular file: not read"]


@contextlib.contextmanager
def address_space_limited_to_current_plus(extra_bytes: int):
    """Make a read of gigabytes fail with MemoryError instead of taking the machine's memory."""
    with open("/proc/self/status") as status:
        size_kb = next(int(line.split()[1]) for line in status if line.startswith("VmSize:"))
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (size_kb * 1024 + extra_bytes, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def test_symlinks_are_resolved_and_their_target_checked(tmp_path):
    folder = folder_with_valid_rules(tmp_path)
    (folder / "zero.yml").symlink_to("/dev/zero")
    (folder / "null.yml").symlink_to("/dev/null")
    (tmp_path / "elsewhere.yml").write_text(rule_text("Linked rule"))
    (folder / "linked.yml").symlink_to(tmp_path / "elsewhere.yml")
    with address_space_limited_to_current_plus(1024**3):  # reading /dev/zero would fill memory
        report = import_paths([str(folder)], source="hardening")
    assert report.created == VALID_FILES + 1  # a link to a regular file is read like one
    assert sorted(errors_of(report)) == [
        "repo/null.yml:0: symlink to /dev/null: a character device, not a regular file: not read",
        "repo/zero.yml:0: symlink to /dev/zero: a character device, not a regular file: not read",
    ]


def test_a_huge_file_is_rejected_by_its_size_before_it_is_read(tmp_path, settings):
    folder = folder_with_valid_rules(tmp_path)
    with open(folder / "huge.yml", "wb") as huge:  # sparse: 3 GB on paper, nothing on disk
        huge.truncate(3 * 1024**3)
    with address_space_limited_to_current_plus(1024**3):
        report = import_paths([str(folder)], source="hardening")
    assert report.created == VALID_FILES
    limit = settings.CATALOG_MAX_FILE_BYTES
    assert errors_of(report) == [f"repo/huge.yml:0: file is {3 * 1024**3} bytes, over the {limit}-byte limit"]


def test_a_file_over_the_time_budget_is_reported_and_the_rest_imports(tmp_path, settings, monkeypatch):
    """A parser stuck on one file (as `1 of a*a*a*...b` conditions were) costs that file and the budget."""
    settings.CATALOG_IMPORT_FILE_SECONDS = 1
    folder = folder_with_valid_rules(tmp_path)
    (folder / "slow.yml").write_text(rule_text("Slow"))
    parse_file = preparing.parse_file

    def parse_slowly(data, path, limits):
        if path.endswith("slow.yml"):
            time.sleep(60)
        return parse_file(data, path, limits)

    monkeypatch.setattr(preparing, "parse_file", parse_slowly)
    report = import_paths([str(folder)], source="hardening")
    assert report.created == VALID_FILES
    assert errors_of(report) == ["repo/slow.yml:1: took longer than the 1 s budget per file"]


def test_a_parser_crash_costs_only_the_file_it_was_on(tmp_path, monkeypatch):
    """A parser process that dies (a segfault in libyaml on 100,000 nesting levels, the OOM killer's SIGKILL)
    must not end the import. SIGKILL stands in for both: it leaves no crash dump in the test output."""
    folder = folder_with_valid_rules(tmp_path)
    (folder / "crash.yml").write_text(rule_text("Crash"))
    parse_file, importing_process = preparing.parse_file, os.getpid()

    def parse_or_crash(data, path, limits):
        if path.endswith("crash.yml"):
            if os.getpid() == importing_process:  # parsing in the importer itself: crashing would end the test
                raise AssertionError("parsed in the importing process, where a crash ends the import")
            os.kill(os.getpid(), signal.SIGKILL)
        return parse_file(data, path, limits)

    monkeypatch.setattr(preparing, "parse_file", parse_or_crash)
    report = import_paths([str(folder)], source="hardening")
    assert report.created == VALID_FILES
    assert errors_of(report) == [f"repo/crash.yml:1: its parser process died (exit code {-signal.SIGKILL})"]


# -- section 4: read errors never retire rules ------------------------------------------------------
@contextlib.contextmanager
def permissions_enforced():
    """Root reads anything; drop this thread's CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH while the block runs.

    Capabilities are per thread on Linux, and the importer reads files in the calling thread.
    """
    if os.geteuid() != 0:
        yield
        return
    libc = ctypes.CDLL(None, use_errno=True)

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

    header, data = Header(0x20080522, 0), (Data * 2)()  # _LINUX_CAPABILITY_VERSION_3
    assert libc.capget(ctypes.byref(header), data) == 0
    saved = data[0].effective
    data[0].effective &= ~((1 << 1) | (1 << 2))  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
    assert libc.capset(ctypes.byref(header), data) == 0, ctypes.get_errno()
    try:
        yield
    finally:
        data[0].effective = saved
        assert libc.capset(ctypes.byref(header), data) == 0


def live_paths(source: str) -> set[str]:
    return set(Rule.objects.filter(source__name=source, retired=False).values_list("path", flat=True))


def test_an_unreadable_file_retires_nothing_under_its_folder(examples):
    import_paths([str(examples)], source="ex")
    before = live_paths("ex")
    unreadable = examples / "windows" / "process_creation" / "proc_creation_win_certutil_remote_download.yml"
    unreadable.chmod(0)
    (examples / "linux" / "process_creation" / "proc_creation_lnx_ssh_reverse_tunnel_or_socks.yml").unlink()
    try:
        with permissions_enforced():
            report = import_paths([str(examples)], source="ex")
    finally:
        unreadable.chmod(0o644)
    assert report.retired == 0 and live_paths("ex") == before
    assert errors_of(report) == [
        "examples/windows/process_creation/proc_creation_win_certutil_remote_download.yml:0:"
        " cannot read file: Permission denied"
    ]
    assert [str(p) for p in report.warnings] == [
        "examples:0: 1 read error(s) under this folder: no rule under it is retired by this import;"
        " 1 rules whose files were not found are kept"
    ]


def test_an_unreadable_subfolder_is_reported_and_retires_nothing(examples):
    import_paths([str(examples)], source="ex")
    before = live_paths("ex")
    (examples / "linux").chmod(0)
    try:
        with permissions_enforced():
            report = import_paths([str(examples)], source="ex")
    finally:
        (examples / "linux").chmod(0o755)
    assert report.retired == 0 and live_paths("ex") == before
    assert errors_of(report) == ["examples/linux:0: cannot read folder: Permission denied"]
    assert "no rule under it is retired" in str(report.warnings[0])


def test_a_read_error_in_one_root_does_not_stop_retirement_in_another(tmp_path):
    first, second = folder_with_valid_rules(tmp_path, "first"), folder_with_valid_rules(tmp_path, "second")
    import_paths([str(first), str(second)], source="two")
    (first / "valid_00.yml").unlink()
    (second / "valid_00.yml").unlink()
    (second / "valid_01.yml").unlink()
    (second / "valid_01.yml").symlink_to(tmp_path / "gone.yml")  # a dangling link: cannot be read
    report = import_paths([str(first), str(second)], source="two")
    assert report.retired == 1
    assert Rule.objects.get(path="first/valid_00.yml").retired
    assert Rule.objects.filter(path__in=["second/valid_00.yml", "second/valid_01.yml"], retired=False).count() == 2
    assert errors_of(report) == ["second/valid_01.yml:0: cannot read file: No such file or directory"]


# -- section 6: one file found twice is one file ------------------------------------------------------
def test_the_same_folder_given_twice_is_read_once(examples):
    report = import_paths([str(examples), str(examples)], source="ex")
    assert not report.errors, errors_of(report)
    assert not any("duplicate" in p.message or "same name" in p.message for p in report.problems)
    assert (report.files_read, report.created) == (29, EXAMPLE_RULES)


def test_two_checkouts_of_one_repository_are_not_duplicates_of_themselves(examples, tmp_path):
    old, new = tmp_path / "old" / "examples", tmp_path / "new" / "examples"
    shutil.copytree(examples, old)
    shutil.copytree(examples, new)
    import_paths([str(old)], source="checkouts")
    import_paths([str(new)], source="checkouts")  # the source now records both folders as its roots
    assert Source.objects.get(name="checkouts").roots == sorted([str(old), str(new)])
    result = reimport(Source.objects.get(name="checkouts"))
    assert not result.report.errors, [str(p) for p in result.report.errors[:3]]
    assert result.report.unchanged == EXAMPLE_RULES and result.report.retired == 0
    first, second = sorted([str(old), str(new)])  # the roots in the order the source records them
    assert [str(p) for p in result.report.warnings] == [
        f"{second}:0: has the same name as {first}: files found under both are read once, from {first}"
    ]


# -- section 6 / issue 7: rules event matching cannot compile are named, not dropped -----------------
def test_a_rule_matching_cannot_compile_is_a_warning_with_its_file_and_line(tmp_path, monkeypatch):
    """catalog.matching.engine leaves out a rule it cannot compile: the import names it (here, one compile refuses).

    The rule uses a non-text modifier (windash): rules of plain text values compile as they parsed, unchecked.
    """
    folder = folder_with_valid_rules(tmp_path)
    odd = rule_text("Odd", value="'-enc'").replace("selection", "odd_block").replace("Image|endswith", "Cmd|windash")
    (folder / "odd.yml").write_text("# a comment first\n" + odd)
    compile_rule = checks.compile_rule

    def compile_or_fail(condition_tree, predicates):
        predicates = list(predicates)
        if any(block == "odd_block" for block, *_ in predicates):
            raise ValueError("no such thing")
        return compile_rule(condition_tree, predicates)

    monkeypatch.setattr(checks, "compile_rule", compile_or_fail)
    report = import_paths([str(folder)], source="hardening")
    assert report.created == VALID_FILES + 1 and not report.errors
    assert report.not_matchable == 1
    assert [str(p) for p in report.warnings] == [
        "repo/odd.yml:8: cannot be compiled for event matching, so no event will ever match it:"
        " ValueError: no such thing"
    ]
    assert report.summary().endswith("; 1 rules cannot be matched against events")
    rule = Rule.objects.get(path="repo/odd.yml")
    assert rule.warnings == [{"line": 8, "message": report.warnings[0].message}]


# -- visibility: one recount and one version bump per import ------------------------------------------
def test_an_import_that_creates_updates_retires_and_restores_publishes_once(examples):
    import_paths([str(examples)], source="ex")
    process_creation = examples / "windows" / "process_creation"
    certutil = process_creation / "proc_creation_win_certutil_remote_download.yml"
    ssh = examples / "linux" / "process_creation" / "proc_creation_lnx_ssh_reverse_tunnel_or_socks.yml"
    kept = ssh.read_text()
    ssh.unlink()
    assert import_paths([str(examples)], source="ex").retired == 1
    ssh.write_text(kept)  # restored: un-retired
    certutil.write_text(certutil.read_text().replace("level: high", "level: medium"))  # updated
    (examples / "new.yml").write_text(rule_text("Brand new"))  # created
    (process_creation / "proc_creation_win_reg_save_credential_hives.yml").unlink()  # retired
    version = CatalogVersion.current()
    with CaptureQueriesContext(connection) as queries:
        report = import_paths([str(examples)], source="ex")
    assert (report.created, report.updated, report.retired) == (1, 2, 1)
    recounts = [q["sql"] for q in queries.captured_queries if "corpus_count" in q["sql"] and "UPDATE" in q["sql"]]
    assert len(recounts) == 1
    assert CatalogVersion.current() == version + 1
    assert Rule.objects.get(path__endswith=ssh.name).retired is False


def test_rows_created_by_an_import_take_the_model_defaults_for_curation_and_visibility(examples):
    import_paths([str(examples)], source="ex")
    fresh = Rule()
    for rule in Rule.objects.filter(source__name="ex"):
        for name in ("hidden", "retired", "note", "verified", "local_tags_added", "level_override", "fp_note"):
            assert getattr(rule, name) == getattr(fresh, name), name


def test_a_regex_event_matching_cannot_run_is_a_warning_with_its_file_and_line(tmp_path):
    """The linear-time engine runs no lookbehind: such a regex runs on the time-limited fallback; the import says so."""
    folder = folder_with_valid_rules(tmp_path)
    (folder / "lookbehind.yml").write_text(
        rule_text("Lookbehind").replace("Image|endswith: 'evil.exe'", "CommandLine|re: '(?<=-)enc'")
    )
    report = import_paths([str(folder)], source="hardening")
    assert report.created == VALID_FILES + 1 and not report.errors and report.not_matchable == 0
    assert [(p.path, p.line) for p in report.warnings] == [("repo/lookbehind.yml", 7)]
    assert report.warnings[0].message.startswith(
        "event matching runs part of this rule on the backtracking regex fallback, under a time limit:"
        " regex '(?<=-)enc'"
    )
