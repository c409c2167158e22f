from importlib import import_module

from django.conf import settings
from django.contrib import admin
from django.db import connection
from django.http import JsonResponse
from django.urls import include, path
from django.views.generic import TemplateView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView


def healthz(request):
    """Liveness + database reachability, for docker-compose and load balancers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any database failure means unhealthy
        return JsonResponse({"status": "error", "database": str(exc.__class__.__name__)}, status=503)
    return JsonResponse({"status": "ok"})


def _api_routes() -> list:
    routes = []
    for app in ("integrations", "syncjobs", "webhooks", "records"):
        try:
            module = import_module(f"{app}.urls")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app}.urls":
                raise
            continue
        if hasattr(module, "router"):
            routes += module.router.urls
        routes += getattr(module, "api_urlpatterns", [])
    return routes


def _root_routes() -> list:
    try:
        return list(import_module("webhooks.urls").urlpatterns)
    except ModuleNotFoundError as exc:
        if exc.name != "webhooks.urls":
            raise
        return []


urlpatterns = [
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("api/v1/", include(_api_routes())),
    *_root_routes(),
]

if settings.SANDBOXES_ENABLED:
    try:
        urlpatterns.append(path("sandbox/", include("connectors.sandboxes")))
    except ModuleNotFoundError as exc:
        if exc.name != "connectors.sandboxes":
            raise

admin.site.site_header = "Integration Hub"
admin.site.site_title = "Integration Hub"
