"""What a Vonage integration stores: its credentials and its config (validated on save)."""

from __future__ import annotations

from rest_framework import serializers


class VonageCredentials(serializers.Serializer):
    api_key = serializers.CharField(max_length=100)
    api_secret = serializers.CharField(max_length=200)
