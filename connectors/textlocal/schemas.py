"""What a TextLocal integration stores: its credentials and its config (validated on save)."""

from __future__ import annotations

from rest_framework import serializers


class TextLocalCredentials(serializers.Serializer):
    api_key = serializers.CharField(max_length=200)
