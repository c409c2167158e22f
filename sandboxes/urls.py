"""URLs of every provider's sandbox, each under ``<provider>/`` (mounted at /sandbox/ by config/urls.py).

A sandbox is a package ``sandboxes/<package>/`` named like the provider's package ``connectors/<package>/``,
with a ``sandbox`` module exposing ``urlpatterns``. Only config/urls.py mounts them (demo and test mode);
production code never imports this package.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from django.urls import include, path

import sandboxes
from connectors.registry import providers


def sandbox_modules() -> list[ModuleType]:
    """Each sandbox package's ``sandbox`` module, in name order."""
    return [importlib.import_module(f"sandboxes.{m.name}.sandbox")
            for m in sorted(pkgutil.iter_modules(sandboxes.__path__), key=lambda m: m.name) if m.ispkg]


def provider_of_package() -> dict[str, str]:
    """``connectors/<package>/`` -> the provider code its Connector registers."""
    return {cls.__module__.split(".")[1]: code for code, cls in providers().items()}


def _sandbox_routes() -> list:
    by_package = provider_of_package()
    routes = []
    for sandbox in sandbox_modules():
        package = sandbox.__name__.split(".")[1]
        provider = by_package.get(package, package)
        routes.append(path(f"{provider}/", include((sandbox.urlpatterns, f"sandbox-{provider}"))))
    return routes


urlpatterns = _sandbox_routes()
