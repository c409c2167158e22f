"""The registry of providers: ``provider`` code -> Connector class.

Each package under ``connectors/`` registers its connector in its ``__init__``; ``autodiscover``
imports them all, so adding a provider touches one folder.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING

import connectors

if TYPE_CHECKING:
    from .base import Connector

_REGISTRY: dict[str, type[Connector]] = {}
_discovered = False


def register(cls: type[Connector]) -> type[Connector]:
    if not getattr(cls, "provider", None):
        raise ValueError(f"{cls.__name__} has no provider code")
    _REGISTRY[cls.provider] = cls
    return cls


def autodiscover() -> None:
    global _discovered
    if _discovered:
        return
    for module in pkgutil.iter_modules(connectors.__path__):
        if module.ispkg:
            importlib.import_module(f"connectors.{module.name}")
    _discovered = True


def connector_modules(name: str) -> list:
    """Each connector package's optional module ``name`` (e.g. ``sandbox``, ``urls``, ``seed``)."""
    found = []
    for module in pkgutil.iter_modules(connectors.__path__):
        if not module.ispkg:
            continue
        qualified = f"connectors.{module.name}.{name}"
        try:
            found.append(importlib.import_module(qualified))
        except ModuleNotFoundError as exc:
            if exc.name != qualified:
                raise
    return found


def get_connector_class(provider: str) -> type[Connector]:
    autodiscover()
    try:
        return _REGISTRY[provider]
    except KeyError:
        raise KeyError(f"unknown provider {provider!r}") from None


def providers() -> dict[str, type[Connector]]:
    autodiscover()
    return dict(sorted(_REGISTRY.items()))


def provider_choices() -> list[tuple[str, str]]:
    return [(code, cls.display_name) for code, cls in providers().items()]
