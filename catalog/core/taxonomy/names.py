"""Providers as pages name them ("Security", "Windows PowerShell") and as profiles and Sigma name them
(the service slug: "security", "powershell-classic"), and event titles.

The names and titles are the catalog's hand-written tables (catalog.core.reference.event_tables): pySigma
knows channels, not titles (a service only pySigma lists is named after its channel, catalog.core.taxonomy.
channels). A provider that is not a Windows service is slugged by its name ("Sysmon for Linux" ->
"sysmon-for-linux").
"""

from __future__ import annotations

from functools import cache

from catalog.core.reference import event_tables

from .channels import windows_services


def _slugged(provider: str) -> str:
    return provider.lower().replace(" ", "-")


@cache
def _slugs() -> dict[str, str]:
    """Display name -> slug, for every provider the tables know."""
    slugs = {provider: service for service, provider in windows_services().items()}
    others = [*event_tables.EVENT_TITLES, *event_tables.LINUX_SERVICES.values()]
    others += [provider for provider, _ in event_tables.LINUX_CATEGORIES.values()]
    for provider in others:
        slugs.setdefault(provider, _slugged(provider))
    return slugs


@cache
def _names() -> dict[str, str]:
    return {slug: provider for provider, slug in _slugs().items()}


@cache
def _folded() -> dict[str, str]:
    """Casefolded display name or slug -> display name."""
    folded = {slug.casefold(): provider for slug, provider in _names().items()}
    folded.update({provider.casefold(): provider for provider in _slugs()})
    return folded


def provider_slug(provider: str) -> str:
    """The Sigma service name of a provider ("Windows PowerShell" -> "powershell-classic")."""
    return _slugs().get(provider) or _slugged(provider)


def provider_name(slug: str) -> str:
    """The display name of a slug (inverse of provider_slug), or the slug itself."""
    return _names().get(slug, slug)


def canonical_provider(text: str) -> str | None:
    """The display name a URL's provider means, in any case, by name or slug ("security", "SYSMON",
    "powershell-classic"); None for a provider the tables do not know."""
    return _folded().get(text.casefold())


def title_for(provider: str, event_id: int) -> str:
    """Title of a provider's event id, or "" when it is not in the tables."""
    return event_tables.EVENT_TITLES.get(provider, {}).get(event_id, "")


def channel_title(provider: str) -> str:
    return f"{provider} log (any event)"


def event_title(slug: str, event_id: int | None) -> str:
    """The title of a provider slug's event: "Process creation", "Sysmon (any event)"."""
    provider = provider_name(slug)
    if event_id is None:
        return f"{provider} (any event)"
    return title_for(provider, event_id)
