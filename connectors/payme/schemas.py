"""Payme integration fields: credentials (secret) and config."""

from __future__ import annotations

from rest_framework import serializers


class PaymeCredentials(serializers.Serializer):
    merchant_id = serializers.CharField(max_length=64, help_text="The cashbox (kassa) id from the merchant cabinet.")
    key = serializers.CharField(max_length=256, help_text="Production key: Payme sends Basic Paycom:<key>.")
    test_key = serializers.CharField(max_length=256, required=False, allow_blank=True,
                                     help_text="Test key (checkout.test.paycom.uz); used when config.test_mode.")


class PaymeConfig(serializers.Serializer):
    account_field = serializers.RegexField(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$", default="order_id", required=False,
                                           help_text="The account field that carries our payment reference.")
    test_mode = serializers.BooleanField(default=False, required=False)
    return_url = serializers.URLField(required=False, allow_blank=True, help_text="Checkout's c= (back to shop).")
    checkout_url = serializers.URLField(required=False, allow_blank=True,
                                        help_text="Override of the checkout host (e.g. our sandbox).")
