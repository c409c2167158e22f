from __future__ import annotations

import pytest

from connectors.signatures import (
    sign_github,
    sign_hmac_sha256_base64,
    sign_hmac_sha256_hex,
    sign_standard_webhooks,
    sign_stripe,
)
from integrations.models import Integration
from webhooks import lookup

from .security import Sender

STANDARD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

# scheme -> (secret, signer(body, secret, timestamp, msg_id) -> headers, extra config)
SCHEMES = {
    "hmac-sha256-hex": (
        "hex-secret-123", lambda b, s, timestamp, msg_id: sign_hmac_sha256_hex(b, s, "X-Acme-Signature"),
        {"signature_header": "X-Acme-Signature"},
    ),
    "hmac-sha256-base64": (
        "b64-secret-456", lambda b, s, timestamp, msg_id: sign_hmac_sha256_base64(b, s, "X-Shop-Hmac"),
        {"signature_header": "X-Shop-Hmac"},
    ),
    "standard-webhooks": (
        STANDARD_SECRET, lambda b, s, timestamp, msg_id: sign_standard_webhooks(msg_id, timestamp, b, s), {},
    ),
    "github": (
        "gh-secret-789", lambda b, s, timestamp, msg_id: sign_github(b, s, delivery_id=msg_id, event="push"), {},
    ),
    "stripe": ("whsec_stripe_test_secret", lambda b, s, timestamp, msg_id: sign_stripe(timestamp, b, s), {}),
}


@pytest.fixture(autouse=True)
def _fresh_lookup_cache():
    lookup.clear()
    yield
    lookup.clear()


@pytest.fixture
def make_webhook_integration(org):
    def make(scheme: str = "hmac-sha256-hex", secret: str | None = None, code: str | None = None, **config):
        default_secret, _, extra = SCHEMES[scheme]
        return Integration.objects.create(
            organization=org, name=f"Inbound {scheme}", code=code or f"in-{scheme}", type="webhook",
            provider="webhook", webhook_secret=default_secret if secret is None else secret,
            config={"signature_scheme": scheme, **extra, **config},
        )

    return make


@pytest.fixture
def sender_for(make_webhook_integration):
    def make(scheme: str = "hmac-sha256-hex", **config) -> Sender:
        integration = make_webhook_integration(scheme, **config)
        secret, signer, _ = SCHEMES[scheme]
        return Sender(integration, secret, signer)

    return make
