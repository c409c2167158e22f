"""Webhook events in the API: the body as text when it decodes, else Base64; never a secret header."""

from __future__ import annotations

import base64

from rest_framework import serializers

from .models import WebhookEvent


def body_text(raw: bytes | memoryview | None) -> tuple[str, str]:
    """(body, encoding): UTF-8 text when decodable, else Base64."""
    data = bytes(raw or b"")
    try:
        return data.decode("utf-8"), "text"
    except UnicodeDecodeError:
        return base64.b64encode(data).decode("ascii"), "base64"


class WebhookEventSerializer(serializers.ModelSerializer):
    integration = serializers.PrimaryKeyRelatedField(read_only=True)
    body_size = serializers.SerializerMethodField()

    class Meta:
        model = WebhookEvent
        fields = [
            "id", "integration", "provider", "event_id", "event_type", "status", "rejection_reason",
            "attempts", "max_retries", "next_attempt_at", "last_error", "result", "duplicates",
            "content_type", "remote_ip", "body_sha256", "body_size", "received_at", "processed_at",
        ]
        read_only_fields = fields

    def get_body_size(self, obj: WebhookEvent) -> int:
        return len(obj.body or b"")


class WebhookEventDetailSerializer(WebhookEventSerializer):
    body = serializers.SerializerMethodField()
    body_encoding = serializers.SerializerMethodField()

    class Meta(WebhookEventSerializer.Meta):
        fields = [*WebhookEventSerializer.Meta.fields, "endpoint", "headers", "body", "body_encoding"]
        read_only_fields = fields

    def get_body(self, obj: WebhookEvent) -> str:
        return body_text(obj.body)[0]

    def get_body_encoding(self, obj: WebhookEvent) -> str:
        return body_text(obj.body)[1]
