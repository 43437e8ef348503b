"""Finds connectors and emulators through Python entry points, so a third party can ship its own."""
from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from connectors.base import Connector

CONNECTOR_GROUP = "revhub.connectors"
EMULATOR_GROUP = "revhub.emulators"


def _load(group: str) -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=group)}


def connector_names() -> list[str]:
    return sorted(_load(CONNECTOR_GROUP))


def connector_class(system: str) -> type[Connector]:
    found = _load(CONNECTOR_GROUP)
    if system not in found:
        raise KeyError(system)
    cls: type[Connector] = found[system].load()
    return cls


def emulator_names() -> list[str]:
    return sorted(_load(EMULATOR_GROUP))


def emulator_class(system: str) -> Any:
    found = _load(EMULATOR_GROUP)
    if system not in found:
        raise KeyError(system)
    return found[system].load()
