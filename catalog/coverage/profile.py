"""A telemetry profile: the Windows events and the log sources a user collects, and how it is written.

URL format (GET, shareable; also the body of a POSTed JSON profile, as lists or comma-joined):

* ``events=sysmon:1,sysmon:3,security:4688``: Windows events as ``provider:event_id``, the provider
  spelled as Sigma's Windows ``service`` name (sysmon, security, system, powershell,
  powershell-classic, windefend, taskscheduler, ...); ``provider:*`` collects the whole channel.
* ``logsources=linux::auditd,aws::cloudtrail,:proxy``: log sources as ``product:category:service``;
  an empty part means the rule names none, an omitted part or ``*`` means any (``aws`` = every AWS
  rule). A Windows rule is collected through its events, or through a log-source pattern naming it.
* ``unfilled=sysmon:1:parentuser,security:4688:newprocessname``: fields (as the event names them,
  casefolded) that a collected event never fills, as a sample of the user's logs shows
  (catalog.coverage.inferred); a rule reading one runs through that event with the field missing.
  A token for an event the profile does not collect (nor its whole channel) is dropped.

Repeated parameters are joined (``events=sysmon:1&events=sysmon:3``), so an HTML form of checkboxes
and a hand-written URL say the same thing; the URLs the pages write (`Profile.query`) repeat a
parameter when one value would pass the length a query value may have (CATALOG_MAX_QUERY_VALUE_CHARS:
Microsoft's audit baseline is 120 Security events). A real Sysmon XML configuration can be read into the
events it logs (`from_sysmon_config`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from urllib.parse import urlencode

from django.conf import settings

from catalog.coverage.sysmon_config import SysmonConfigError, sysmon_event_ids

MAX_TOKENS = 500
MAX_TOKEN_CHARS = 200
SLUG = re.compile(r"^[a-z0-9][a-z0-9._ -]*$")
PART = re.compile(r"^[a-z0-9_.*-]*$")
FIELD = re.compile(r"^[^\x00-\x1f\x7f,]+$")  # an event's field name: anything printable but the separator


class ProfileError(ValueError):
    """A profile that cannot be read; the message says which token and what is wrong."""


@dataclass(frozen=True)
class Profile:
    events: frozenset[tuple[str, int | None]] = frozenset()
    logsources: tuple[tuple[str | None, str | None, str | None], ...] = ()
    unfilled: frozenset[tuple[str, int, str]] = frozenset()  # (provider, event id, event field casefolded)

    def __bool__(self) -> bool:
        return bool(self.events or self.logsources)

    def collects_event(self, provider: str, event_id: int | None) -> bool:
        return (provider, event_id) in self.events or (provider, None) in self.events

    def collects_logsource(self, product: str, category: str, service: str) -> bool:
        return any(_matches(pattern, (product, category, service)) for pattern in self.logsources)

    @property
    def event_tokens(self) -> list[str]:
        return sorted((event_token(p, e) for p, e in self.events), key=_token_order)

    @property
    def logsource_tokens(self) -> list[str]:
        return sorted(logsource_token(*pattern) for pattern in self.logsources)

    @property
    def unfilled_tokens(self) -> list[str]:
        return [f"{p}:{e}:{f}" for p, e, f in sorted(self.unfilled)]

    def lacks(self, provider: str, event_id: int, field: str) -> bool:
        """Whether the collected event never fills `field` (its own name for it, casefolded)."""
        return (provider, event_id, field) in self.unfilled

    def _lists(self):
        return (
            ("events", self.event_tokens),
            ("logsources", self.logsource_tokens),
            ("unfilled", self.unfilled_tokens),
        )

    def params(self) -> dict[str, str]:
        """The canonical GET parameters of this profile (empty ones left out)."""
        params = {name: ",".join(tokens) for name, tokens in self._lists()}
        return {key: value for key, value in params.items() if value}

    def query(self) -> str:
        """The canonical query string: params(), a parameter repeated where its value would be too long."""
        limit = settings.CATALOG_MAX_QUERY_VALUE_CHARS
        pairs = []
        for name, tokens in self._lists():
            chunk = []
            for token in tokens:
                if chunk and len(",".join([*chunk, token])) > limit:
                    pairs.append((name, ",".join(chunk)))
                    chunk = []
                chunk.append(token)
            if chunk:
                pairs.append((name, ",".join(chunk)))
        return urlencode(pairs)

    def adding(self, token: str) -> Profile:
        """This profile with one more event (``provider:id``) or log source (``logsource=...``) token."""
        if token.startswith("logsource="):
            return replace(self, logsources=tuple(sorted(set(self.logsources) | {_logsource(token[10:])})))
        return replace(self, events=self.events | {_event(token)})


def _matches(pattern, values) -> bool:
    return all(want is None or want == have for want, have in zip(pattern, values, strict=True))


def _token_order(token: str):
    provider, _, event = token.partition(":")
    return (provider, event != "*", int(event) if event.isascii() and event.isdigit() else 0)


def event_token(provider: str, event_id: int | None) -> str:
    return f"{provider}:{'*' if event_id is None else event_id}"


def logsource_token(product, category, service) -> str:
    return ":".join("*" if part is None else part for part in (product, category, service))


def _split(values) -> list[str]:
    if isinstance(values, str):
        values = [values]
    tokens = []
    for value in values or ():
        if not isinstance(value, str):
            raise ProfileError(f"Expected text, got {type(value).__name__}: {value!r:.60}")
        if "\x00" in value:
            raise ProfileError("The profile contains a NUL byte.")
        tokens += [t.strip().casefold() for t in value.split(",") if t.strip()]
    if len(tokens) > MAX_TOKENS:
        raise ProfileError(f"{len(tokens)} tokens: at most {MAX_TOKENS} events and log sources each.")
    for token in tokens:
        if len(token) > MAX_TOKEN_CHARS:
            raise ProfileError(f"Token too long ({len(token)} characters, at most {MAX_TOKEN_CHARS}): {token:.40}...")
    return tokens


def _event(token: str) -> tuple[str, int | None]:
    provider, sep, event = token.rpartition(":")
    if not sep or not SLUG.match(provider):
        raise ProfileError(f"Event {token!r}: write provider:event_id, e.g. sysmon:1 or security:4688.")
    if event in ("*", "any"):
        return provider, None
    if not (event.isascii() and event.isdigit()) or len(event) > 9:
        raise ProfileError(f"Event {token!r}: the event id must be a number or * (the whole channel).")
    return provider, int(event)


def _logsource(token: str) -> tuple[str | None, str | None, str | None]:
    parts = token.split(":")
    if len(parts) > 3 or not all(PART.match(p) for p in parts):
        raise ProfileError(f"Log source {token!r}: write product:category:service, e.g. linux::auditd or :proxy.")
    parts += ["*"] * (3 - len(parts))
    return tuple(None if part == "*" else part for part in parts)


def _unfilled(token: str) -> tuple[str, int, str]:
    provider, event, field = (token.split(":", 2) + ["", ""])[:3]
    if not (event.isascii() and event.isdigit()) or len(event) > 9 or not FIELD.match(field.strip()):
        raise ProfileError(f"Unfilled field {token!r}: write provider:event_id:field, e.g. sysmon:1:parentuser.")
    return _event(f"{provider}:{event}")[0], int(event), field.strip()


def parse(events=None, logsources=None, unfilled=None) -> Profile:
    """A profile from GET values or JSON members (each a comma-joined string or a list of them)."""
    collected = frozenset(_event(t) for t in _split(events))
    return Profile(
        collected,
        tuple(sorted({_logsource(t) for t in _split(logsources)}, key=lambda p: logsource_token(*p))),
        frozenset(u for u in map(_unfilled, _split(unfilled)) if {(u[0], u[1]), (u[0], None)} & collected),
    )


def with_events(profile: Profile, events) -> Profile:
    """`profile` collecting `events` too (a Sysmon configuration's): what it knows of fields is kept."""
    return replace(profile, events=profile.events | frozenset(events))


# The query parameters a profile is read from (the /coverage/ pages declare them: catalog.platform.parameters).
PROFILE_PARAMETERS = ("events", "logsources", "unfilled")


def from_query(query) -> Profile:
    """A profile from a request's GET (a QueryDict): repeated parameters are joined."""
    return parse(*(query.getlist(name) for name in PROFILE_PARAMETERS))


def from_json(data) -> Profile:
    """A profile from a POSTed JSON object: events, logsources, unfilled, and optionally sysmon_config (XML)."""
    if not isinstance(data, dict):
        raise ProfileError(
            'Post a JSON object: {"events": [...], "logsources": [...], "sysmon_config": "<Sysmon>..."}.'
        )
    unknown = set(data) - {"events", "logsources", "unfilled", "sysmon_config"}
    if unknown:
        raise ProfileError(f"Unknown member(s) {sorted(unknown)}: use events, logsources, unfilled, sysmon_config.")
    profile = parse(data.get("events"), data.get("logsources"), data.get("unfilled"))
    config = data.get("sysmon_config")
    if config:
        if not isinstance(config, str):
            raise ProfileError("sysmon_config must be the XML text of a Sysmon configuration.")
        profile = with_events(profile, from_sysmon_config(config).events)
    return profile


def from_sysmon_config(text: str) -> Profile:
    """The Sysmon events a configuration logs (catalog.coverage.sysmon_config: an event type with an
    `exclude` filter, or an `include` filter with at least one condition; an empty `include` logs nothing)."""
    try:
        ids = sysmon_event_ids(text)
    except SysmonConfigError as exc:
        raise ProfileError(str(exc)) from None
    return Profile(frozenset(("sysmon", event_id) for event_id in ids))
