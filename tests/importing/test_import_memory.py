"""What a long import lets go as it goes (catalog.importing.importer): each file's bytes once its rules are sorted,
and the cycles each write batch leaves, though the collector is off while an import runs."""

import gc
import weakref

import pytest

from catalog.importing import importer
from catalog.importing.importer import import_paths
from catalog.importing.writer import RuleWriter

pytestmark = pytest.mark.django_db


def test_each_file_s_bytes_go_once_its_rules_are_sorted(examples, monkeypatch):
    given, held = [], []
    prepare_files, sort = importer.prepare_files, importer._ImportRun._sort

    def capturing(items, budget_seconds):
        given.append(items)
        return prepare_files(items, budget_seconds)

    def sorting(self, pending, result, *rest):
        held.append(sum(item is not None for item in given[0][: len(held) + 1]))  # this file's and those before
        return sort(self, pending, result, *rest)

    monkeypatch.setattr(importer, "prepare_files", capturing)
    monkeypatch.setattr(importer._ImportRun, "_sort", sorting)
    report = import_paths([str(examples)], source="ex")
    assert report.created > 10 and len(held) == len(given[0]) > 10
    assert held == [0] * len(held)


class Node:
    def __init__(self):
        self.itself = self  # a cycle: only the collector frees it


def test_the_cycles_a_write_batch_leaves_are_collected_at_the_next(examples, monkeypatch):
    monkeypatch.setattr(importer, "WRITE_BATCH", 2)
    write, left, seen = RuleWriter.write, [], []

    def writing(self, *args):
        seen.append([ref() is None for ref in left])
        left.append(weakref.ref(Node()))
        return write(self, *args)

    monkeypatch.setattr(RuleWriter, "write", writing)
    assert gc.isenabled()
    import_paths([str(examples)], source="ex")
    assert len(seen) > 5
    assert all(all(dead) for dead in seen)  # each batch's cycle was gone when the next batch came
