"""Root: the receiver (``urlpatterns``). Under /api/v1/: the inbox API (``router``)."""

from django.urls import path

from integrations.routers import OptionalSlashRouter

from .api import WebhookEventViewSet
from .views import receive

router = OptionalSlashRouter()
router.register("webhooks", WebhookEventViewSet, basename="webhook-event")

urlpatterns = [
    path("api/webhooks/receive/<str:key>", receive, name="webhook-receive"),
]
