"""PayPal integration fields. The integration's ``webhook_secret`` holds the PayPal *webhook id* (from
the app's webhook settings): PayPal signs with its own certificate, and the webhook id is what ties a
delivery to this listener in the signed string."""

from __future__ import annotations

from rest_framework import serializers


class PayPalCredentials(serializers.Serializer):
    client_id = serializers.CharField(min_length=10, max_length=128, help_text="REST app client id.")
    client_secret = serializers.CharField(min_length=10, max_length=128, help_text="REST app secret.")


class PayPalConfig(serializers.Serializer):
    environment = serializers.ChoiceField(choices=[("live", "Live"), ("sandbox", "PayPal Sandbox")],
                                          default="live", required=False)
    verification = serializers.ChoiceField(
        choices=[("offline", "Verify the signature against PayPal's certificate"),
                 ("api", "Ask PayPal (verify-webhook-signature)")], default="offline", required=False)
    return_url = serializers.URLField(required=False, allow_blank=True, max_length=500,
                                      help_text="Where PayPal sends the payer after approving (default: the hub's "
                                                "return route, which captures).")
    cancel_url = serializers.URLField(required=False, allow_blank=True, max_length=500)
    brand_name = serializers.CharField(required=False, allow_blank=True, max_length=127)
