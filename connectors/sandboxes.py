"""URLs of every connector's sandbox, each under ``<provider>/`` (mounted at /sandbox/ by config/urls.py).

A connector package that ships a sandbox has a ``sandbox`` module exposing ``urlpatterns``.
"""

from __future__ import annotations

import importlib
import pkgutil

from django.urls import include, path

import connectors

from .registry import providers


def _sandbox_routes() -> list:
    routes = []
    by_package = {cls.__module__.split(".")[1]: code for code, cls in providers().items()}
    for module in pkgutil.iter_modules(connectors.__path__):
        if not module.ispkg:
            continue
        try:
            sandbox = importlib.import_module(f"connectors.{module.name}.sandbox")
        except ModuleNotFoundError as exc:
            if exc.name != f"connectors.{module.name}.sandbox":
                raise
            continue
        provider = by_package.get(module.name, module.name)
        routes.append(path(f"{provider}/", include((sandbox.urlpatterns, f"sandbox-{provider}"))))
    return routes


urlpatterns = _sandbox_routes()
