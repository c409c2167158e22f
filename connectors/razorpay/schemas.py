"""Razorpay integration fields. The webhook secret (chosen in Razorpay's dashboard when the webhook is
added) is the integration's ``webhook_secret``, not a credential: it is not the API key secret."""

from __future__ import annotations

from rest_framework import serializers


class RazorpayCredentials(serializers.Serializer):
    key_id = serializers.RegexField(r"^rzp_(test|live)_[A-Za-z0-9]{6,}$", max_length=64,
                                    help_text="API key id (rzp_test_... or rzp_live_...).")
    key_secret = serializers.CharField(min_length=8, max_length=128, trim_whitespace=True,
                                       help_text="API key secret: Basic auth, and the checkout signature's key.")


class RazorpayConfig(serializers.Serializer):
    capture = serializers.ChoiceField(
        choices=[("hub", "The hub captures each verified authorization"),
                 ("razorpay", "Razorpay captures automatically (dashboard setting)")],
        default="hub", required=False,
        help_text="Who moves an authorized payment to captured (only captured money counts as paid).")
    checkout_name = serializers.CharField(max_length=100, required=False, allow_blank=True,
                                          help_text="Business name shown in Razorpay Checkout.")
