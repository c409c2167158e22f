"""/api/v1/webhooks: list, get, retry (manager), delete (admin); scoped to the caller's organization."""

from __future__ import annotations

from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from integrations.api_base import OrgScopedViewSet
from integrations.errors import Conflict
from integrations.filters import HubFilterSet, IsoDateTimeFilter
from integrations.models import Role

from . import processing, queue
from .models import EventStatus, WebhookEvent
from .serializers import WebhookEventDetailSerializer, WebhookEventSerializer


class WebhookEventFilter(HubFilterSet):
    received_after = IsoDateTimeFilter(field_name="received_at", lookup_expr="gte")
    received_before = IsoDateTimeFilter(field_name="received_at", lookup_expr="lt")

    class Meta:
        model = WebhookEvent
        fields = ["integration", "status", "provider", "event_type", "event_id"]


class WebhookEventViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, OrgScopedViewSet
):
    queryset = WebhookEvent.objects.all().defer("body", "headers")
    filterset_class = WebhookEventFilter
    ordering_fields = ["received_at", "id", "status", "attempts"]
    required_roles = {"retry": Role.MANAGER, "destroy": Role.ADMIN}

    def get_queryset(self):
        qs = super().get_queryset()
        # The list shows a body size, never the body: load the bytes only for one event.
        return qs.defer(None) if self.action != "list" else qs

    def get_serializer_class(self):
        return WebhookEventSerializer if self.action == "list" else WebhookEventDetailSerializer

    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        """Back to pending with a fresh retry budget, and queue processing."""
        event = self.get_object()
        if event.status in (EventStatus.REJECTED, EventStatus.PROCESSING):
            raise Conflict(f"A {event.status} event cannot be retried.")
        processing.requeue([event.pk])
        queue.kick()
        event.refresh_from_db()
        return Response(WebhookEventDetailSerializer(event).data, status=status.HTTP_202_ACCEPTED)
