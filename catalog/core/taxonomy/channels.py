"""Which Windows service (a Sigma logsource `service`) an event belongs to, from its channel or provider.

The channels are pySigma's: `windows_logsource_mapping` (sigma.pipelines.common), the table its Windows
pipelines turn `service: bits-client` into `Channel: Microsoft-Windows-Bits-Client/Operational` with, plus
the few services it does not list (catalog.core.reference.event_tables.EXTRA_CHANNELS). Reading an event's
service back from the same table is what makes matching select a service's rules exactly where a converted
query would find them; comparing squeezed display names did not ("BITS Client" -> "bitsclient" is no part
of "microsoft-windows-bits-client/operational", so the bits-client rules never ran).

`services_of(channel, provider)`, first that applies (several services can share a channel; `service_of` is
the one the catalog names first):
1. the channel, compared casefolded with every service's channels;
2. the provider (`Provider_Name`, for an event that names no channel): a provider whose name is not its
   channel's (event_tables.PROVIDER_SERVICES: "Microsoft-Windows-Security-Auditing"), else the channel's
   own provider part ("Microsoft-Windows-Bits-Client" of ".../Operational");
3. otherwise a service whose display name or channel, squeezed (lowercase, no spaces, no hyphens), is part
   of the squeezed channel or provider: a channel written another way ("WinEventLog:Security") still finds
   its service. Longest names first, so "Security-Mitigations" wins over "Security".
"""

from __future__ import annotations

from functools import cache, lru_cache

from catalog.core.reference import event_tables

from . import pipelines


@cache
def service_channels() -> dict[str, tuple[str, ...]]:
    """Windows service -> its event log channels (pySigma's table, then the catalog's additions)."""
    table = {}
    for service, channels in pipelines.windows_channels().items():
        table[service] = tuple(channels) if isinstance(channels, list | tuple) else (channels,)
    for service, channels in event_tables.EXTRA_CHANNELS.items():
        table.setdefault(service, channels)
    return table


@cache
def windows_services() -> dict[str, str]:
    """Windows service -> the provider name pages show: the catalog's names (event_tables.WINDOWS_SERVICES),
    and for a service only pySigma lists, its first channel without the "Microsoft-Windows-" prefix
    ("dhcp" -> "DHCP-Server/Operational"), so every service a rule can name has event coverage."""
    names = dict(event_tables.WINDOWS_SERVICES)
    for service, channels in service_channels().items():
        names.setdefault(service, channels[0].removeprefix("Microsoft-Windows-"))
    return names


def load() -> None:
    """Read the channel tables now (pySigma's plugin discovery: 0.5 s), e.g. before a process forks its workers."""
    _by_channel()
    _by_provider()


@cache
def _by_channel() -> dict[str, tuple[str, ...]]:
    """Casefolded channel -> the services that select it (pySigma's "ldap_debug" and the catalog's "ldap" share
    Microsoft-Windows-LDAP-Client/Debug), those the catalog names first."""
    found: dict[str, list[str]] = {}
    for service, channels in _preferred_first():
        for channel in channels:
            found.setdefault(channel.casefold(), []).append(service)
    return {channel: tuple(services) for channel, services in found.items()}


def _preferred_first() -> list[tuple[str, tuple[str, ...]]]:
    named = event_tables.WINDOWS_SERVICES
    return sorted(service_channels().items(), key=lambda item: item[0] not in named)


@cache
def _by_provider() -> dict[str, tuple[str, ...]]:
    """Casefolded provider name -> its services: the channels' provider parts, then the known exceptions."""
    found: dict[str, list[str]] = {}
    for service, channels in _preferred_first():
        for channel in channels:
            services = found.setdefault(channel.split("/")[0].casefold(), [])
            if service not in services:
                services.append(service)
    result = {provider: tuple(services) for provider, services in found.items()}
    result.update({provider.casefold(): (service,) for provider, service in event_tables.PROVIDER_SERVICES.items()})
    return result


def _squeeze(text: str) -> str:
    return text.casefold().replace(" ", "").replace("-", "")


@cache
def _squeezed_names() -> tuple[tuple[str, str], ...]:
    """(squeezed name, service) for every service's display name and channels, longest first."""
    names = {}
    for service, provider in windows_services().items():
        names.setdefault(_squeeze(provider), service)
    for service, channels in _preferred_first():
        for channel in channels:
            names.setdefault(_squeeze(channel), service)
    return tuple(sorted(names.items(), key=lambda item: (-len(item[0]), item[0])))


@lru_cache(maxsize=4096)  # events name few channels; the bound keeps arbitrary input from growing it
def services_of(channel: str, provider: str = "") -> tuple[str, ...]:
    """Every Windows service whose rules run on an event of that channel (or, without one, provider), the one
    the catalog names first; () when none fits. Several services can share a channel (see `_by_channel`)."""
    channel, provider = (channel or "").strip(), (provider or "").strip()
    if channel and (found := _by_channel().get(channel.casefold())):
        return found
    if provider and (found := _by_provider().get(provider.casefold())):
        return found
    squeezed = f"{_squeeze(channel)}|{_squeeze(provider)}"
    service = next((service for name, service in _squeezed_names() if name in squeezed), None)
    if service is None:
        return ()
    sharing = [services for services in _by_channel().values() if service in services]
    return tuple(dict.fromkeys([service, *(s for services in sharing for s in services)]))


def service_of(channel: str, provider: str = "") -> str | None:
    """The Windows service an event of that channel (or provider) is shown as, None when none fits."""
    services = services_of(channel, provider)
    return services[0] if services else None
