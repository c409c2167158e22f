"""URLs of every connector's sandbox, each under ``<provider>/`` (mounted at /sandbox/ by config/urls.py).

A connector package that ships a sandbox has a ``sandbox`` module exposing ``urlpatterns``.
"""

from __future__ import annotations

from django.urls import include, path

from .registry import connector_modules, providers


def _sandbox_routes() -> list:
    routes = []
    by_package = {cls.__module__.split(".")[1]: code for code, cls in providers().items()}
    for sandbox in connector_modules("sandbox"):
        package = sandbox.__name__.split(".")[1]
        provider = by_package.get(package, package)
        routes.append(path(f"{provider}/", include((sandbox.urlpatterns, f"sandbox-{provider}"))))
    return routes


urlpatterns = _sandbox_routes()
