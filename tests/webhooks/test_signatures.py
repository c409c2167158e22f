"""The signature schemes against known vectors and independent computations; rotation; edge cases."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from connectors.errors import SignatureError
from connectors.signatures import (
    MAX_CANDIDATES,
    sign_github,
    sign_hmac_sha256_base64,
    sign_hmac_sha256_hex,
    sign_standard_webhooks,
    sign_stripe,
    split_secrets,
    verify_github,
    verify_hmac_sha256_base64,
    verify_hmac_sha256_hex,
    verify_standard_webhooks,
    verify_stripe,
)

# The Standard Webhooks / Svix documentation's example.
SVIX_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SVIX_ID, SVIX_TS, SVIX_BODY = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'
SVIX_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_standard_webhooks_matches_the_published_example():
    headers = sign_standard_webhooks(SVIX_ID, SVIX_TS, SVIX_BODY, SVIX_SECRET)
    assert headers["webhook-signature"] == SVIX_SIGNATURE
    assert verify_standard_webhooks(headers, SVIX_BODY, [SVIX_SECRET], now=SVIX_TS + 10) == SVIX_ID


def test_standard_webhooks_rejects_old_and_future_timestamps():
    headers = sign_standard_webhooks(SVIX_ID, SVIX_TS, SVIX_BODY, SVIX_SECRET)
    with pytest.raises(SignatureError, match="older"):
        verify_standard_webhooks(headers, SVIX_BODY, [SVIX_SECRET], now=SVIX_TS + 301)
    with pytest.raises(SignatureError, match="future"):
        verify_standard_webhooks(headers, SVIX_BODY, [SVIX_SECRET], now=SVIX_TS - 301)


def test_stripe_keys_with_the_whsec_string_itself_not_decoded():
    secret, ts, body = "whsec_test_abc", 1700000000, b'{"id":"evt_1"}'
    expected = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    assert sign_stripe(ts, body, secret) == {"Stripe-Signature": f"t={ts},v1={expected}"}
    assert verify_stripe({"stripe-signature": f"t={ts},v0=00,v1={'0' * 64},v1={expected}"}, body, [secret],
                         now=ts) == ""
    # Stripe's library rejects only old timestamps, not future ones.
    verify_stripe(sign_stripe(ts + 600, body, secret), body, [secret], now=ts)
    with pytest.raises(SignatureError, match="older"):
        verify_stripe(sign_stripe(ts, body, secret), body, [secret], now=ts + 301)


def test_github_signature_and_delivery_id():
    body = b'{"zen": "Keep it logically awesome."}'
    expected = "sha256=" + hmac.new(b"gh", body, hashlib.sha256).hexdigest()
    headers = sign_github(body, "gh", delivery_id="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    assert headers["X-Hub-Signature-256"] == expected
    assert verify_github(headers, body, ["gh"]) == "72d3162e-cc78-11e3-81ab-4c9367dc0958"


def test_generic_hex_and_base64_in_a_configured_header():
    body = b"event=order.created&id=7"
    digest = hmac.new(b"k", body, hashlib.sha256).digest()
    assert sign_hmac_sha256_hex(body, "k", "X-Sig") == {"X-Sig": digest.hex()}
    assert sign_hmac_sha256_base64(body, "k", "X-Sig") == {"X-Sig": base64.b64encode(digest).decode()}
    verify_hmac_sha256_hex({"X-SIG": digest.hex().upper()}, body, ["k"], header="x-sig")  # case-insensitive
    verify_hmac_sha256_hex({"x-sig": "sha256=" + digest.hex()}, body, ["k"], header="x-sig")  # prefix tolerated
    verify_hmac_sha256_base64({"x-sig": base64.b64encode(digest).decode()}, body, ["k"], header="x-sig")
    with pytest.raises(SignatureError, match="missing signature header x-other"):
        verify_hmac_sha256_hex({"x-sig": digest.hex()}, body, ["k"], header="x-other")


def test_rotation_accepts_any_configured_secret_and_any_listed_signature():
    body = b"{}"
    old, new = sign_hmac_sha256_hex(body, "old")["X-Signature"], sign_hmac_sha256_hex(body, "new")["X-Signature"]
    verify_hmac_sha256_hex({"x-signature": old}, body, split_secrets("new\nold"))
    verify_hmac_sha256_hex({"x-signature": f"{'0' * 64},{new}"}, body, ["new"])
    # A malformed secret among several (a typo while rotating) does not lock out the good one.
    headers = sign_standard_webhooks(SVIX_ID, SVIX_TS, SVIX_BODY, SVIX_SECRET)
    verify_standard_webhooks(headers, SVIX_BODY, ["whsec_not base64!", SVIX_SECRET], now=SVIX_TS)


@pytest.mark.parametrize(
    ("headers", "secrets", "message"),
    [
        ({"x-signature": "ab"}, [], "no webhook secret"),
        ({"x-signature": "ab"}, [""], "no webhook secret"),
        ({"x-signature": " , "}, ["k"], "no usable signature"),
        ({"x-signature": ",".join(["00"] * (MAX_CANDIDATES + 1))}, ["k"], "too many"),
        ({"x-signature": "not-hex"}, ["k"], "does not match"),
    ],
)
def test_bad_inputs_are_refused_with_a_reason(headers, secrets, message):
    with pytest.raises(SignatureError, match=message):
        verify_hmac_sha256_hex(headers, b"{}", secrets)


def test_standard_webhooks_needs_id_and_timestamp():
    headers = sign_standard_webhooks(SVIX_ID, SVIX_TS, SVIX_BODY, SVIX_SECRET)
    with pytest.raises(SignatureError, match="timestamp"):
        verify_standard_webhooks({**headers, "webhook-timestamp": "soon"}, SVIX_BODY, [SVIX_SECRET], now=SVIX_TS)
    without_id = {k: v for k, v in headers.items() if k != "webhook-id"}
    with pytest.raises(SignatureError, match="webhook-id"):
        verify_standard_webhooks(without_id, SVIX_BODY, [SVIX_SECRET], now=SVIX_TS)
    with pytest.raises(SignatureError, match="Base64"):
        verify_standard_webhooks(headers, SVIX_BODY, ["whsec_***"], now=SVIX_TS)


def test_hub_signature_tolerates_what_kiotviet_leaves_open():
    from connectors.signatures import HUB_SIGNATURE

    body, secret = b'{"Id": "1"}', base64.b64encode(b"registered-secret").decode()
    raw_key, decoded_key = secret.encode(), base64.b64decode(secret)
    variants = [
        hmac.new(raw_key, body, hashlib.sha256).hexdigest(),  # the documented form
        "sha256=" + hmac.new(raw_key, body, hashlib.sha256).hexdigest(),
        base64.b64encode(hmac.new(raw_key, body, hashlib.sha256).digest()).decode(),
        hmac.new(decoded_key, body, hashlib.sha256).hexdigest(),  # the secret Base64-decoded
        "sha1=" + hmac.new(raw_key, body, hashlib.sha1).hexdigest(),
    ]
    for value in variants:
        HUB_SIGNATURE.verify({"X-Hub-Signature": value}, body, [secret])
    for forged in ("sha1=" + hmac.new(raw_key, body, hashlib.sha256).hexdigest(),  # algorithm named wrong
                   hmac.new(b"other", body, hashlib.sha256).hexdigest(), "not a digest"):
        with pytest.raises(SignatureError):
            HUB_SIGNATURE.verify({"X-Hub-Signature": forged}, body, [secret])
    with pytest.raises(SignatureError):
        HUB_SIGNATURE.verify({}, body, [secret])
    assert HUB_SIGNATURE.signature(secret, body) == variants[0]  # what the sandbox signs with
