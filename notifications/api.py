"""/api/v1/notifications: messages with their per-recipient delivery status (read-only)."""

from __future__ import annotations

from rest_framework import mixins, serializers

from integrations.api_base import OrgScopedViewSet

from .models import Delivery, Message


class DeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = Delivery
        fields = ["id", "recipient", "status", "provider", "provider_message_id", "attempts", "error", "sent_at",
                  "next_attempt_at"]


class MessageSerializer(serializers.ModelSerializer):
    deliveries = DeliverySerializer(many=True, read_only=True)

    class Meta:
        model = Message
        fields = ["id", "uid", "idempotency_key", "channel", "template", "subject", "body", "status", "created_at",
                  "deliveries"]


class MessageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    queryset = Message.objects.prefetch_related("deliveries").order_by("-id")
    serializer_class = MessageSerializer
    filterset_fields = ["channel", "status", "template"]
