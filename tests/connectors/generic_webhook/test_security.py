"""The shared security contract, run for each signature scheme of the generic provider."""

from __future__ import annotations

import pytest

from tests.webhooks.security import WebhookSecurityContract


class TestHmacSha256Hex(WebhookSecurityContract):
    @pytest.fixture
    def wh(self, sender_for):
        return sender_for("hmac-sha256-hex")


class TestHmacSha256Base64(WebhookSecurityContract):
    @pytest.fixture
    def wh(self, sender_for):
        return sender_for("hmac-sha256-base64")


class TestStandardWebhooks(WebhookSecurityContract):
    signs_timestamp = True
    delivery_id_in_headers = True

    @pytest.fixture
    def wh(self, sender_for):
        return sender_for("standard-webhooks")


class TestGithub(WebhookSecurityContract):
    delivery_id_in_headers = True

    @pytest.fixture
    def wh(self, sender_for):
        return sender_for("github")


class TestStripeScheme(WebhookSecurityContract):
    signs_timestamp = True

    @pytest.fixture
    def wh(self, sender_for):
        return sender_for("stripe")
