"""/api/v1/event-destinations (buses and webhook subscriptions) and /api/v1/event-deliveries (the log)."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import urlsplit

from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from integrations.api_base import OrgScopedViewSet
from integrations.inputs import contains_nul
from integrations.models import Role

from .dispatch import replay
from .models import DeliveryAttempt, Destination, DestinationKind, EventDelivery
from .outbox import kick


class DestinationSerializer(serializers.ModelSerializer):
    connection = serializers.CharField(write_only=True, required=False, max_length=2000,
                                       help_text="Broker URL or bootstrap servers; for a webhook its whsec_ secret. "
                                                 "Write-only.")
    has_connection = serializers.SerializerMethodField()
    event_types = serializers.ListField(child=serializers.CharField(max_length=100), required=False, max_length=50)
    options = serializers.DictField(child=serializers.JSONField(), required=False)

    class Meta:
        model = Destination
        fields = ["id", "name", "kind", "target", "connection", "has_connection", "options", "event_types",
                  "is_active", "paused_until", "consecutive_failures", "last_error", "last_delivered_at",
                  "created_at"]
        read_only_fields = ["paused_until", "consecutive_failures", "last_error", "last_delivered_at", "created_at"]

    def get_has_connection(self, obj: Destination) -> bool:
        return bool(obj.connection)

    def validate_options(self, value: dict[str, Any]) -> dict[str, Any]:
        if contains_nul(value) or any(not isinstance(v, str | int | float | bool) for v in value.values()):
            raise serializers.ValidationError("Options are flat: names to strings, numbers or booleans.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind = attrs.get("kind", getattr(self.instance, "kind", ""))
        target = attrs.get("target", getattr(self.instance, "target", ""))
        connection = attrs.get("connection", getattr(self.instance, "connection", "") if self.instance else "")
        if not connection and kind != DestinationKind.KAFKA:
            raise serializers.ValidationError({"connection": "Required for this kind."})
        if kind == DestinationKind.WEBHOOK:
            parts = urlsplit(target)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise serializers.ValidationError({"target": "A webhook target is an http(s) URL."})
            try:
                key = base64.b64decode(connection.removeprefix("whsec_"), validate=True)
            except (binascii.Error, ValueError):
                key = b""
            if not connection.startswith("whsec_") or len(key) < 16:
                raise serializers.ValidationError({"connection": "A webhook secret is whsec_ + base64 of 16+ bytes."})
        return attrs


class DestinationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                         mixins.UpdateModelMixin, mixins.DestroyModelMixin, OrgScopedViewSet):
    queryset = Destination.objects.all().order_by("id")
    serializer_class = DestinationSerializer
    filterset_fields = ["kind", "is_active"]
    required_roles = {"create": Role.ADMIN, "update": Role.ADMIN, "partial_update": Role.ADMIN,
                      "destroy": Role.ADMIN}

    def perform_create(self, serializer) -> None:
        serializer.save(organization=self.request.organization)


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["ok", "status_code", "duration_ms", "error", "response_excerpt", "created_at"]


class EventDeliverySerializer(serializers.ModelSerializer):
    event_id = serializers.UUIDField(source="event.uid", read_only=True)
    event_type = serializers.CharField(source="event.type", read_only=True)
    aggregate = serializers.CharField(source="event.aggregate", read_only=True)
    log = AttemptSerializer(many=True, read_only=True)

    class Meta:
        model = EventDelivery
        fields = ["id", "event_id", "event_type", "aggregate", "destination", "status", "attempts", "last_error",
                  "delivered_at", "created_at", "log"]


class EventDeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    queryset = EventDelivery.objects.select_related("event").prefetch_related("log").order_by("-id")
    serializer_class = EventDeliverySerializer
    filterset_fields = ["destination", "status"]
    required_roles = {"replay": Role.MANAGER}

    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        """A failed delivery back to pending; published again in its order."""
        delivery = self.get_object()
        replay([delivery.pk])
        kick()
        delivery.refresh_from_db()
        return Response(EventDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
