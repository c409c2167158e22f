"""Root routes of the KiotViet package: the seed's REST aliases and KiotViet's webhook URL.

``/api/webhooks/kiotviet?token=<integration webhook_key>``: KiotViet's payload names no retailer, so
the URL the hub registers carries the integration's key. The delivery then takes exactly the core
receiver's path (look-up, verification with the integration's secret, store, answer, process in a
worker): this view only moves the key from the query into the receiver's argument.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from webhooks.views import receive

from . import api


@csrf_exempt
def webhook(request: HttpRequest) -> HttpResponse:
    return receive(request, request.GET.get("token", ""))


PREFIX = "api/integrations/kiotviet"

urlpatterns = [
    path("api/webhooks/kiotviet", webhook, name="kiotviet-webhook"),
    path(f"{PREFIX}/config", api.ConfigView.as_view(), name="kiotviet-config"),
    path(f"{PREFIX}/config/<str:organization_id>", api.ConfigView.as_view(), name="kiotviet-config-org"),
    path(f"{PREFIX}/sync/all", api.SyncAllView.as_view(), name="kiotviet-sync-all"),
    path(f"{PREFIX}/sync/from-kiotviet/<str:organization_id>", api.SyncFromKiotVietView.as_view(),
         name="kiotviet-sync"),
    path(f"{PREFIX}/sync/product-to-kiotviet/<str:organization_id>/<int:product_id>", api.PushProductView.as_view(),
         name="kiotviet-push-product"),
    path(f"{PREFIX}/sync/config/<str:organization_id>", api.SyncConfigView.as_view(), name="kiotviet-sync-config"),
    path(f"{PREFIX}/test-connection/<str:organization_id>", api.TestConnectionView.as_view(),
         name="kiotviet-test-connection"),
    path(f"{PREFIX}/webhooks/<str:organization_id>", api.WebhookRegistrationView.as_view(), name="kiotviet-webhooks"),
]
