"""Stripe integration fields. The webhook signing secret (``whsec_...``) is the integration's
``webhook_secret``, not a credential."""

from __future__ import annotations

from rest_framework import serializers


class StripeCredentials(serializers.Serializer):
    secret_key = serializers.RegexField(r"^(sk|rk)_(test|live)_[A-Za-z0-9_]{8,}$", max_length=255,
                                        help_text="Secret (sk_) or restricted (rk_) API key.")


class StripeConfig(serializers.Serializer):
    statement_descriptor_suffix = serializers.CharField(max_length=22, required=False, allow_blank=True)
