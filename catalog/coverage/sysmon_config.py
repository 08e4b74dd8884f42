"""Reading a Sysmon XML configuration into the Sysmon event ids it logs, in bounded work.

The text comes from anyone (POST /api/coverage/), so it is parsed by defusedxml (no DTD, no
entities, no external references) and streamed through a small target that keeps one stack entry
per open element and builds no tree: time and memory grow with the size of the text, whatever its
shape. Before, a tree was built and each <EventFiltering> walked its whole subtree again, so 60,000
nested <EventFiltering> (2 MB) took 30 s. Limits (config/settings.py): CATALOG_MAX_SYSMON_CONFIG_CHARS
and CATALOG_MAX_SYSMON_CONFIG_DEPTH (a real configuration is 6 levels deep:
Sysmon > EventFiltering > RuleGroup > ProcessCreate > Rule > Image).
"""

from __future__ import annotations

from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser
from django.conf import settings

# Sysmon configuration element -> the event ids it filters (Sysinternals Sysmon schema).
SYSMON_ELEMENTS = {
    "ProcessCreate": (1,),
    "FileCreateTime": (2,),
    "NetworkConnect": (3,),
    "ProcessTerminate": (5,),
    "DriverLoad": (6,),
    "ImageLoad": (7,),
    "CreateRemoteThread": (8,),
    "RawAccessRead": (9,),
    "ProcessAccess": (10,),
    "FileCreate": (11,),
    "RegistryEvent": (12, 13, 14),
    "FileCreateStreamHash": (15,),
    "PipeEvent": (17, 18),
    "WmiEvent": (19, 20, 21),
    "DnsQuery": (22,),
    "FileDelete": (23,),
    "ClipboardChange": (24,),
    "ProcessTampering": (25,),
    "FileDeleteDetected": (26,),
    "FileBlockExecutable": (27,),
    "FileBlockShredding": (28,),
    "FileExecutableDetected": (29,),
}
SYSMON_ALWAYS = (4, 16, 255)  # service state, configuration change and errors are not filtered


class SysmonConfigError(ValueError):
    """A configuration that cannot be read; the message says where and what is wrong."""


class _TooDeep(Exception):
    pass


class _EventsTarget:
    """ElementTree parser target: an event type logs its events when, inside <EventFiltering>, it
    has an `exclude` filter (log all but) or an `include` filter with at least one condition."""

    def __init__(self, max_depth: int):
        self.max_depth = max_depth
        self.stack: list[list] = []  # [tag, onmatch, children] per open element
        self.filtering = 0  # open <EventFiltering> elements
        self.root = None
        self.ids: set[int] = set(SYSMON_ALWAYS)

    def start(self, tag, attrib):
        if len(self.stack) >= self.max_depth:
            raise _TooDeep
        if self.stack:
            self.stack[-1][2] += 1
        elif self.root is None:
            self.root = tag
        self.filtering += tag == "EventFiltering"
        self.stack.append([tag, (attrib.get("onmatch") or "").lower(), 0])

    def end(self, tag):
        tag, onmatch, children = self.stack.pop()
        self.filtering -= tag == "EventFiltering"
        event_ids = SYSMON_ELEMENTS.get(tag)
        if event_ids and self.filtering and (onmatch == "exclude" or (onmatch == "include" and children)):
            self.ids.update(event_ids)

    def data(self, text):
        pass

    def close(self):
        return self.ids


def sysmon_event_ids(text: str) -> set[int]:
    """The Sysmon event ids the configuration logs; SysmonConfigError says why it cannot be read."""
    max_chars, max_depth = settings.CATALOG_MAX_SYSMON_CONFIG_CHARS, settings.CATALOG_MAX_SYSMON_CONFIG_DEPTH
    if len(text) > max_chars:
        raise SysmonConfigError(f"The Sysmon configuration is {len(text)} characters long (at most {max_chars}).")
    if "\x00" in text:
        raise SysmonConfigError("The Sysmon configuration contains a NUL byte.")
    try:  # expat is given UTF-8, which a lone surrogate cannot be written in
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate, e.g. from a JSON "\ud800"
        line, column = text.count("\n", 0, exc.start) + 1, exc.start - text.rfind("\n", 0, exc.start)
        raise SysmonConfigError(
            f"Sysmon configuration, line {line}, column {column}: a lone surrogate "
            f"(U+{ord(text[exc.start]):04X}), not a character."
        ) from None
    target = _EventsTarget(max_depth)
    parser = DefusedXMLParser(target=target, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    try:
        parser.feed(text)  # text, not bytes: an encoding declaration (UTF-16 ...) is moot, as before
        parser.close()
    except _TooDeep:
        expat = parser.parser
        raise SysmonConfigError(
            f"Sysmon configuration, line {expat.CurrentLineNumber}, column {expat.CurrentColumnNumber + 1}: "
            f"elements nested more than {max_depth} deep."
        ) from None
    except DefusedXmlException:
        raise SysmonConfigError("The Sysmon configuration may not declare a DOCTYPE or entities.") from None
    except ParseError as exc:
        line, column = exc.position
        raise SysmonConfigError(f"Sysmon configuration, line {line}, column {column}: {_reason(exc)}.") from None
    if target.root != "Sysmon":
        raise SysmonConfigError(f"Sysmon configuration: the root element is <{target.root}>, expected <Sysmon>.")
    return target.ids


def _reason(exc: ParseError) -> str:
    """expat's message without the ': line 1, column 2' ElementTree appends."""
    return str(exc).split(": line ")[0]
