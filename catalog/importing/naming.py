"""Which source an import's folders belong to: one repository is one source, whichever route imported it.

Two routes import rules: `make run` with CATALOG_RULE_PATHS (each folder given without a name) and
`manage.py import_rules PATH ... --source NAME` (the README's). Before, the first named a source after each
folder ("rules", "rules-emerging-threats") and the second then failed on every rule ("duplicate id:
already defined in rules:..."). Now:

- A folder given without a name is named after its repository (`derived_name`): "sigmahq" for a SigmaHQ
  checkout, "examples" for the catalog's own rules/, else the repository root's folder name. The
  repository root is the nearest folder holding `.git`, or the folder above SigmaHQ-style rule folders
  (rules, rules-*, deprecated, unsupported), whichever is nearer. A folder an existing source already
  records keeps that source, so the name given the first time wins; except a source named after its
  folder alone (the old default), whose folders the derived name takes over.
- A folder given with `--source NAME` belongs to NAME. A source that recorded it before hands it over
  (`hand_over`, in the import's transaction, before anything is compared): renamed to NAME when all its
  folders move and NAME is new, else its rules under that folder move to NAME, and it goes once empty.
  The rules keep their rows, paths, history and curation: the import then finds them unchanged.

A folder is recognised by its resolved path, as Source.roots records it. Another checkout of the same
repository at another path is another folder: its rules still clash with the first one's ids.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

from catalog.models import EXAMPLES_SOURCE, ImportJob, Rule, RuleTestEvent, Source

RULE_FOLDER = re.compile(r"^(rules([-_.].*)?|deprecated|unsupported)$", re.IGNORECASE)
SIGMAHQ_REMOTE = re.compile(r"github\.com[:/]+sigmahq/sigma(\.git)?/*$", re.IGNORECASE)
SIGMAHQ_FOLDERS = ("rules", "rules-emerging-threats")  # both at the top: SigmaHQ's layout
ORIGIN_URL = re.compile(r'\[remote "origin"\][^\[]*?^\s*url\s*=\s*(\S+)', re.MULTILINE)


def repository_root(path: Path) -> Path:
    """The repository a rule folder (or file) belongs to."""
    folder = path if path.is_dir() else path.parent
    chain = [folder, *folder.parents]
    git = next((candidate for candidate in chain if (candidate / ".git").exists()), None)
    above_rules = next((candidate.parent for candidate in chain if RULE_FOLDER.match(candidate.name)), None)
    found = [candidate for candidate in (git, above_rules) if candidate is not None]
    return max(found, key=lambda candidate: len(candidate.parts)) if found else folder


def derived_name(path: Path) -> str:
    """What a source read from `path` is called when the import names none: what the repository is."""
    root = repository_root(path)
    if root == Path(settings.BASE_DIR).resolve():
        return EXAMPLES_SOURCE  # the catalog's own example rules (`make run` imports them under this name)
    if _is_sigmahq(root):
        return "sigmahq"
    return re.sub(r"[^a-z0-9._-]+", "-", root.name.lower()).strip("-") or "rules"


def _is_sigmahq(root: Path) -> bool:
    config = root / ".git" / "config"
    if config.is_file():
        origin = ORIGIN_URL.search(config.read_text(encoding="utf-8", errors="replace"))
        if origin and SIGMAHQ_REMOTE.search(origin.group(1)):
            return True
    return all((root / folder).is_dir() for folder in SIGMAHQ_FOLDERS)


class SourceNaming:
    """The source of each folder of one import (`name_of`), and the hand-over of folders between sources."""

    def __init__(self, explicit: str | None):
        self.explicit = explicit
        self.owners: dict[str, Source] = {}  # resolved folder -> the source that records it
        for source in Source.objects.all():
            for root in source.roots:
                self.owners.setdefault(root, source)

    def name_of(self, root: Path) -> str:
        if self.explicit:
            return self.explicit
        owner = self.owners.get(str(root))
        if owner is not None and not _named_after_its_folder(owner):
            return owner.name
        return derived_name(root)

    def hand_over(self, roots_by_name: dict[str, set[str]]) -> None:
        """Move every folder of this import that another source records to the source it is imported under."""
        for name, roots in sorted(roots_by_name.items()):
            for root in sorted(roots):
                owner = self.owners.get(root)
                if owner is not None and owner.name != name:
                    self._move(root, owner, name, roots)

    def _move(self, root: str, owner: Source, name: str, roots: set[str]) -> None:
        owner.refresh_from_db()
        target = Source.objects.filter(name=name).first()
        if target is None and set(owner.roots) <= roots:  # the whole source comes along: it is renamed
            owner.name = name
            owner.save(update_fields=["name"])
            return
        if target is None:
            target = Source.objects.create(name=name, location=root, base_url=owner.base_url)
        moved = Rule.objects.filter(source=owner, path__startswith=Path(root).name + "/")
        RuleTestEvent.objects.filter(source=owner, rule__in=moved).update(source=target)
        moved.update(source=target)
        owner.roots = [kept for kept in owner.roots if kept != root]
        owner.save(update_fields=["roots"])
        if not Rule.objects.filter(source=owner).exists():
            if not target.base_url and owner.base_url:
                target.base_url = owner.base_url
                target.save(update_fields=["base_url"])
            ImportJob.objects.filter(source=owner).update(source=target)  # its re-import history stays visible
            owner.delete()
        for folder, source in list(self.owners.items()):
            if source.pk == owner.pk and (folder == root or owner.pk is None):  # moved, or its source is gone
                self.owners[folder] = target


def _named_after_its_folder(source: Source) -> bool:
    """A source that carries the old default name: its folder's, e.g. "rules" for .../sigma/rules."""
    return bool(source.roots) and all(Path(root).name == source.name for root in source.roots)
