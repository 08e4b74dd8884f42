"""A telemetry profile: the Windows events and the log sources a user collects, and how it is written.

URL format (GET, shareable; also the body of a POSTed JSON profile, as lists or comma-joined):

* ``events=sysmon:1,sysmon:3,security:4688``: Windows events as ``provider:event_id``, the provider
  spelled as Sigma's Windows ``service`` name (sysmon, security, system, powershell,
  powershell-classic, windefend, taskscheduler, ...); ``provider:*`` collects the whole channel.
* ``logsources=linux::auditd,aws::cloudtrail,:proxy``: log sources as ``product:category:service``;
  an empty part means the rule names none, an omitted part or ``*`` means any (``aws`` = every AWS
  rule). A Windows rule is collected through its events, or through a log-source pattern naming it.

Repeated parameters are joined (``events=sysmon:1&events=sysmon:3``), so an HTML form of checkboxes
and a hand-written URL say the same thing; the URLs the pages write (`Profile.query`) repeat a
parameter when one value would pass the length a query value may have (CATALOG_MAX_QUERY_VALUE_CHARS:
Microsoft's audit baseline is 120 Security events). A real Sysmon XML configuration can be read into the
events it logs (`from_sysmon_config`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings

from catalog.coverage.sysmon_config import SysmonConfigError, sysmon_event_ids

MAX_TOKENS = 500
MAX_TOKEN_CHARS = 200
SLUG = re.compile(r"^[a-z0-9][a-z0-9._ -]*$")
PART = re.compile(r"^[a-z0-9_.*-]*$")


class ProfileError(ValueError):
    """A profile that cannot be read; the message says which token and what is wrong."""


@dataclass(frozen=True)
class Profile:
    events: frozenset[tuple[str, int | None]] = frozenset()
    logsources: tuple[tuple[str | None, str | None, str | None], ...] = ()

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

    def params(self) -> dict[str, str]:
        """The canonical GET parameters of this profile (empty ones left out)."""
        params = {"events": ",".join(self.event_tokens), "logsources": ",".join(self.logsource_tokens)}
        return {key: value for key, value in params.items() if value}

    def query(self) -> str:
        """The canonical query string: params(), a parameter repeated where its value would be too long."""
        limit = settings.CATALOG_MAX_QUERY_VALUE_CHARS
        pairs = []
        for name, tokens in (("events", self.event_tokens), ("logsources", self.logsource_tokens)):
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
            return Profile(self.events, tuple(sorted(set(self.logsources) | {_logsource(token[10:])})))
        return Profile(self.events | {_event(token)}, self.logsources)


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


def parse(events=None, logsources=None) -> Profile:
    """A profile from GET values or JSON members (each a comma-joined string or a list of them)."""
    return Profile(
        frozenset(_event(t) for t in _split(events)),
        tuple(sorted({_logsource(t) for t in _split(logsources)}, key=lambda p: logsource_token(*p))),
    )


# The query parameters a profile is read from (the /coverage/ pages declare them: catalog.platform.parameters).
PROFILE_PARAMETERS = ("events", "logsources")


def from_query(query) -> Profile:
    """A profile from a request's GET (a QueryDict): repeated parameters are joined."""
    return parse(*(query.getlist(name) for name in PROFILE_PARAMETERS))


def from_json(data) -> Profile:
    """A profile from a POSTed JSON object: events, logsources, and optionally sysmon_config (XML text)."""
    if not isinstance(data, dict):
        raise ProfileError(
            'Post a JSON object: {"events": [...], "logsources": [...], "sysmon_config": "<Sysmon>..."}.'
        )
    unknown = set(data) - {"events", "logsources", "sysmon_config"}
    if unknown:
        raise ProfileError(f"Unknown member(s) {sorted(unknown)}: use events, logsources, sysmon_config.")
    profile = parse(data.get("events"), data.get("logsources"))
    config = data.get("sysmon_config")
    if config:
        if not isinstance(config, str):
            raise ProfileError("sysmon_config must be the XML text of a Sysmon configuration.")
        profile = Profile(profile.events | from_sysmon_config(config).events, profile.logsources)
    return profile


def from_sysmon_config(text: str) -> Profile:
    """The Sysmon events a configuration logs (catalog.coverage.sysmon_config: an event type with an
    `exclude` filter, or an `include` filter with at least one condition; an empty `include` logs nothing)."""
    try:
        ids = sysmon_event_ids(text)
    except SysmonConfigError as exc:
        raise ProfileError(str(exc)) from None
    return Profile(frozenset(("sysmon", event_id) for event_id in ids))
