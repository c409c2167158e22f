"""Root: the receiver (``urlpatterns``). Under /api/v1/: the inbox API (``router``)."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from .api import WebhookEventViewSet
from .views import receive

router = DefaultRouter(trailing_slash="/?")
router.register("webhooks", WebhookEventViewSet, basename="webhook-event")

urlpatterns = [
    path("api/webhooks/receive/<str:key>", receive, name="webhook-receive"),
]
