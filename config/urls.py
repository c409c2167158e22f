from django.conf import settings
from django.contrib import admin
from django.db import connection
from django.http import JsonResponse
from django.urls import include, path
from django.views.generic import TemplateView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

import events.urls
import files.urls
import health.urls
import integrations_api.urls
import notifications.urls
import payments.urls
import records.urls
import syncjobs.urls
import webhooks.urls
from health.workers import worker_status


def healthz(request):
    """Liveness + database reachability, for docker-compose and load balancers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any database failure means unhealthy
        return JsonResponse({"status": "error", "database": str(exc.__class__.__name__)}, status=503)
    return JsonResponse({"status": "ok"})


def healthz_workers(request):
    """Whether every hub queue has a worker that consumed recently (its heartbeat), with each worker's age.

    503 when a queue has no fresh consumer: a worker that lost its broker or stopped consuming shows here
    even while its process is alive.
    """
    try:
        status = worker_status()
    except Exception as exc:  # noqa: BLE001 - any database failure means unhealthy
        return JsonResponse({"status": "error", "database": str(exc.__class__.__name__)}, status=503)
    return JsonResponse({"status": "ok" if status["ok"] else "error", **status}, status=200 if status["ok"] else 503)


def _api_v1() -> list:
    """Each app's router and plain API views, all under /api/v1/."""
    routes: list = []
    for module in (integrations_api.urls, syncjobs.urls, webhooks.urls, records.urls, payments.urls,
                   notifications.urls, events.urls, files.urls):
        routes += module.router.urls + getattr(module, "api_urlpatterns", [])
    return routes


urlpatterns = [
    path("", TemplateView.as_view(template_name="home.html"), name="home"),
    path("healthz", healthz, name="healthz"),
    path("healthz/workers", healthz_workers, name="healthz-workers"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("api/v1/", include(_api_v1())),
    path("", include("connectors.routes")),  # each connector package's own urls.py (protocol endpoints)
    path("", include("integrations_api.aliases")),  # each connector package's aliases.py (seed routes)
    *webhooks.urls.urlpatterns,  # POST /api/webhooks/receive/<key>
    *payments.urls.urlpatterns,
    *health.urls.urlpatterns,  # /api/integrations/status|health|services|metrics|test/..., /metrics
]

if settings.SANDBOXES_ENABLED:
    urlpatterns.append(path("sandbox/", include("sandboxes.urls")))

admin.site.site_header = "Integration Hub"
admin.site.site_title = "Integration Hub"
