"""Webhook signature schemes: one parameterised HMAC verifier, several named instances.

Every scheme we know is the same recipe with different knobs (as the providers publish them): which header
carries the signature, an optional prefix (``sha256=``), the digest (sha1/sha256) and its encoding
(hex/base64), what is signed (the body, ``t.body`` or ``id.t.body``), how the secret becomes the
key (UTF-8 as given, or Base64-decoded after ``whsec_``) and a timestamp tolerance.

Why it is written this way:
- Verification works on the raw body bytes, never on re-serialised JSON.
- Digests are compared with ``hmac.compare_digest`` (constant time), so the answer time does not
  tell an attacker how many leading bytes of a forged signature were right.
- Several secrets and several signatures are accepted (any pair matching), so a secret rotates
  with no downtime: configure old and new, switch the sender, then drop the old one.
- A missing secret is an error, never "skip verification".

``verify_*`` return the delivery id the scheme carries in its headers ("" when it has none) and
raise ``connectors.errors.SignatureError`` with a reason; ``sign_*`` build the headers a sender
would send (for sandboxes and tests).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from connectors.errors import RejectedPayload, SignatureError
from integrations import jsonlimits

Signed = Literal["body", "t.body", "id.t.body"]
KeyMode = Literal["raw", "whsec_base64", "raw_or_base64"]
Encoding = Literal["hex", "base64", "hex_or_base64"]

# More candidates than this in one delivery is not rotation, it is someone fishing.
MAX_CANDIDATES = 10
WHSEC_PREFIX = "whsec_"


@dataclass(frozen=True)
class Candidates:
    """What a signature header yields: the signatures to try and the signed timestamp, if any."""

    signatures: list[str]
    timestamp: str | None = None


def _parse_plain(value: str, prefix: str) -> Candidates:
    # "sha256=<hex>" or a bare digest; several may be listed (comma or space separated) during rotation.
    sigs = []
    for part in re.split(r"[,\s]+", value.strip()):
        if part and prefix and part.lower().startswith(prefix.lower()):
            part = part[len(prefix):]
        if part:
            sigs.append(part)
    return Candidates(sigs)


def _parse_stripe(value: str, prefix: str) -> Candidates:
    # "t=1700000000,v1=<hex>,v1=<hex>,v0=<hex>": only v1 counts; several v1 during rotation.
    timestamp, sigs = None, []
    for item in value.split(","):
        key, _, val = item.strip().partition("=")
        if key == "t":
            timestamp = val
        elif key == "v1" and val:
            sigs.append(val)
    return Candidates(sigs, timestamp)


def _parse_standard(value: str, prefix: str) -> Candidates:
    # "v1,<base64> v1,<base64>": space separated; other versions (v1a = ed25519) are not HMAC.
    sigs = []
    for item in value.split():
        version, _, sig = item.partition(",")
        if version == "v1" and sig:
            sigs.append(sig)
    return Candidates(sigs)


HEADER_PARSERS: dict[str, Callable[[str, str], Candidates]] = {
    "plain": _parse_plain,
    "stripe": _parse_stripe,
    "standard": _parse_standard,
}


def _key_raw(secret: str) -> bytes:
    return secret.encode("utf-8")


def _key_whsec_base64(secret: str) -> bytes:
    raw = secret[len(WHSEC_PREFIX):] if secret.startswith(WHSEC_PREFIX) else secret
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("webhook secret is not valid Base64 (expected whsec_<base64>)") from None


def _keys_raw_or_base64(secret: str) -> list[bytes]:
    # A provider that does not say whether its secret is used as given or Base64-decoded: try both.
    keys = [_key_raw(secret)]
    try:
        decoded = base64.b64decode(secret, validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    if decoded and decoded not in keys:
        keys.append(decoded)
    return keys


# Secret -> the HMAC keys to try (the first one signs).
KEY_MODES: dict[str, Callable[[str], list[bytes]]] = {
    "raw": lambda secret: [_key_raw(secret)],
    "whsec_base64": lambda secret: [_key_whsec_base64(secret)],
    "raw_or_base64": _keys_raw_or_base64,
}


def _decode_hex(sig: str) -> bytes | None:
    try:
        return bytes.fromhex(sig)
    except ValueError:
        return None


def _decode_base64(sig: str) -> bytes | None:
    try:
        return base64.b64decode(sig, validate=True)
    except (binascii.Error, ValueError):
        return None


def _decode_hex_or_base64(sig: str) -> list[bytes]:
    return [d for d in (_decode_hex(sig), _decode_base64(sig)) if d]


# Signature text -> the digests it may stand for.
DECODERS: dict[str, Callable[[str], list[bytes]]] = {
    "hex": lambda sig: [d] if (d := _decode_hex(sig)) else [],
    "base64": lambda sig: [d] if (d := _decode_base64(sig)) else [],
    "hex_or_base64": _decode_hex_or_base64,
}
ENCODERS: dict[str, Callable[[bytes], str]] = {
    "hex": lambda digest: digest.hex(),
    "base64": lambda digest: base64.b64encode(digest).decode("ascii"),
}


@dataclass(frozen=True)
class SignatureScheme:
    """One way of signing webhooks. Header names are lower-case."""

    name: str
    header: str
    prefix: str = ""
    algorithm: Literal["sha1", "sha256"] = "sha256"
    encoding: Encoding = "hex"
    signed: Signed = "body"
    key: KeyMode = "raw"
    header_format: Literal["plain", "stripe", "standard"] = "plain"
    timestamp_header: str | None = None  # when the timestamp travels in its own header
    id_header: str | None = None  # the delivery id header (signed for "id.t.body", else just read)
    tolerance: int | None = None  # seconds; None = no timestamp in the scheme
    reject_future: bool = True  # Stripe's library only rejects old timestamps
    # A signature may name its algorithm ("sha1=<digest>"): these names are accepted that way.
    algorithm_prefixes: tuple[str, ...] = ()

    # --- signing ---------------------------------------------------------------------------
    def signed_payload(self, body: bytes, timestamp: str | None = None, msg_id: str | None = None) -> bytes:
        parts = {"body": [], "t.body": [timestamp], "id.t.body": [msg_id, timestamp]}[self.signed]
        if any(p is None for p in parts):
            raise SignatureError(f"{self.name}: the signed payload needs {' and '.join(self._needs())}")
        return b"".join(p.encode("utf-8") + b"." for p in parts) + body

    def _needs(self) -> list[str]:
        return {"body": [], "t.body": ["a timestamp"], "id.t.body": ["an id", "a timestamp"]}[self.signed]

    def digest(self, key: bytes, payload: bytes, algorithm: str | None = None) -> bytes:
        return hmac.new(key, payload, algorithm or self.algorithm).digest()

    def signature(self, secret: str, body: bytes, timestamp: str | None = None, msg_id: str | None = None) -> str:
        """The encoded signature (without prefix) for one secret."""
        key = KEY_MODES[self.key](secret)[0]
        encode = ENCODERS["hex" if self.encoding == "hex_or_base64" else self.encoding]
        return encode(self.digest(key, self.signed_payload(body, timestamp, msg_id)))

    def _candidates(self, signatures: list[str]) -> list[tuple[str, bytes]]:
        """(algorithm, digest) pairs that the header's signatures may stand for."""
        decode = DECODERS[self.encoding]
        out = []
        for sig in signatures:
            algorithm = self.algorithm
            name, sep, rest = sig.partition("=")
            if sep and rest and name.lower() in self.algorithm_prefixes:
                algorithm, sig = name.lower(), rest
            out += [(algorithm, digest) for digest in decode(sig)]
        return out

    # --- verification ----------------------------------------------------------------------
    def verify(
        self,
        headers: Mapping[str, str],
        body: bytes,
        secrets: list[str],
        *,
        tolerance: int | None = None,
        now: float | None = None,
    ) -> str:
        """Raise SignatureError unless some secret signed this body; return the delivery id (or "")."""
        secrets = [s for s in secrets if s]
        if not secrets:
            raise SignatureError("no webhook secret is configured: deliveries are refused until one is set")
        h = lower_headers(headers)
        value = h.get(self.header, "")
        if not value:
            raise SignatureError(f"missing signature header {self.header}")
        found = HEADER_PARSERS[self.header_format](value, self.prefix)
        if not found.signatures:
            raise SignatureError(f"no usable signature in header {self.header}")
        if len(found.signatures) > MAX_CANDIDATES:
            raise SignatureError(f"too many signatures in header {self.header}")
        msg_id = h.get(self.id_header, "") if self.id_header else ""
        timestamp = found.timestamp if self.timestamp_header is None else h.get(self.timestamp_header)
        if self.signed != "body":
            self._check_timestamp(timestamp, self.tolerance if tolerance is None else tolerance, now)
        if self.signed == "id.t.body" and not msg_id:
            raise SignatureError(f"missing header {self.id_header}")
        payload = self.signed_payload(body, timestamp, msg_id)
        provided = self._candidates(found.signatures)
        keys = self._keys(secrets[:MAX_CANDIDATES])
        matched = False
        for key in keys:
            for algorithm, candidate in provided:
                # No early exit: every pair is compared, so timing says nothing about which matched.
                matched |= hmac.compare_digest(self.digest(key, payload, algorithm), candidate)
        if not matched:
            raise SignatureError("signature does not match")
        return msg_id

    def _keys(self, secrets: list[str]) -> list[bytes]:
        # A malformed secret among several (a typo while rotating) must not lock out the good one.
        keys, errors = [], []
        for secret in secrets:
            try:
                keys += KEY_MODES[self.key](secret)
            except SignatureError as exc:
                errors.append(str(exc))
        if not keys:
            raise SignatureError(errors[0])
        return keys

    def _check_timestamp(self, timestamp: str | None, tolerance: int | None, now: float | None) -> None:
        if not timestamp:
            raise SignatureError("missing signature timestamp")
        try:
            ts = int(timestamp)
        except ValueError:
            raise SignatureError("malformed signature timestamp") from None
        if tolerance is None:
            return
        now = time.time() if now is None else now
        if ts < now - tolerance:
            raise SignatureError(f"timestamp older than the {tolerance} s tolerance")
        if self.reject_future and ts > now + tolerance:
            raise SignatureError(f"timestamp more than {tolerance} s in the future")


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def split_secrets(secret: str | None) -> list[str]:
    """Several secrets may be configured, one per line or space separated (rotation)."""
    return (secret or "").split()


def event_object(body: bytes, provider: str) -> dict[str, Any]:
    """A verified delivery's body as a JSON object (the depth-limited parser), or RejectedPayload."""
    try:
        payload = jsonlimits.loads(body)
    except jsonlimits.JSONTooDeep as exc:
        raise RejectedPayload(str(exc)) from None
    except ValueError:
        raise RejectedPayload("the body is not JSON") from None
    if not isinstance(payload, dict):
        raise RejectedPayload(f"not a {provider} event (a JSON object)")
    return payload


def text(value: Any) -> str:
    """A payload's string field, or "" for anything else (ids and types feed the inbox's dedup key)."""
    return value if isinstance(value, str) else ""


# --- the named instances ---------------------------------------------------------------------
HMAC_SHA256_HEX = SignatureScheme("hmac-sha256-hex", header="x-signature", prefix="sha256=")
HMAC_SHA256_BASE64 = SignatureScheme("hmac-sha256-base64", header="x-signature", encoding="base64")
GITHUB = SignatureScheme(
    "github", header="x-hub-signature-256", prefix="sha256=", id_header="x-github-delivery"
)
GITHUB_SHA1 = SignatureScheme(
    "github-sha1", header="x-hub-signature", prefix="sha1=", algorithm="sha1", id_header="x-github-delivery"
)
STANDARD_WEBHOOKS = SignatureScheme(
    "standard-webhooks",
    header="webhook-signature",
    encoding="base64",
    signed="id.t.body",
    key="whsec_base64",
    header_format="standard",
    timestamp_header="webhook-timestamp",
    id_header="webhook-id",
    tolerance=300,
)
# Stripe keys the HMAC with the whole "whsec_..." string as UTF-8: NOT Base64-decoded.
STRIPE = SignatureScheme(
    "stripe", header="stripe-signature", signed="t.body", header_format="stripe", tolerance=300, reject_future=False
)
# ``X-Hub-Signature`` as KiotViet sends it: HMAC-SHA256 of the body keyed by the Secret given at
# registration. What its documentation leaves open is tolerated: an optional "sha256="/"sha1=" prefix,
# a hex or Base64 digest, and the key as registered or Base64-decoded (each compared in constant time).
HUB_SIGNATURE = SignatureScheme(
    "hub-signature", header="x-hub-signature", encoding="hex_or_base64", key="raw_or_base64",
    algorithm_prefixes=("sha256", "sha1"),
)

# The schemes the generic webhook provider offers (``config.signature_scheme``).
SCHEMES: dict[str, SignatureScheme] = {
    s.name: s for s in (HMAC_SHA256_HEX, HMAC_SHA256_BASE64, GITHUB, GITHUB_SHA1, STANDARD_WEBHOOKS, STRIPE)
}


def get_scheme(name: str, header: str | None = None) -> SignatureScheme:
    """A named scheme, optionally reading its signature from another header."""
    try:
        scheme = SCHEMES[name]
    except KeyError:
        raise SignatureError(f"unknown signature scheme {name!r}") from None
    return replace(scheme, header=header.lower()) if header else scheme


# --- public helpers per scheme -----------------------------------------------------------------
def verify_standard_webhooks(
    headers: Mapping[str, str], body: bytes, secrets: list[str], tolerance: int = 300, now: float | None = None
) -> str:
    """Standard Webhooks (Svix): returns the webhook-id, the idempotency key."""
    return STANDARD_WEBHOOKS.verify(headers, body, secrets, tolerance=tolerance, now=now)


def sign_standard_webhooks(msg_id: str, timestamp: int, body: bytes, secret: str) -> dict[str, str]:
    sig = STANDARD_WEBHOOKS.signature(secret, body, str(timestamp), msg_id)
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp), "webhook-signature": f"v1,{sig}"}


def verify_stripe(
    headers: Mapping[str, str], body: bytes, secrets: list[str], tolerance: int = 300, now: float | None = None
) -> str:
    """Stripe-Signature (t=, v1=). Returns "": Stripe's event id is in the body (``id``)."""
    return STRIPE.verify(headers, body, secrets, tolerance=tolerance, now=now)


def sign_stripe(timestamp: int, body: bytes, secret: str) -> dict[str, str]:
    return {"Stripe-Signature": f"t={timestamp},v1={STRIPE.signature(secret, body, str(timestamp))}"}


def verify_github(headers: Mapping[str, str], body: bytes, secrets: list[str]) -> str:
    """X-Hub-Signature-256; returns X-GitHub-Delivery (the same on redelivery)."""
    return GITHUB.verify(headers, body, secrets)


def sign_github(body: bytes, secret: str, delivery_id: str | None = None, event: str | None = None) -> dict[str, str]:
    headers = {"X-Hub-Signature-256": "sha256=" + GITHUB.signature(secret, body)}
    if delivery_id:
        headers["X-GitHub-Delivery"] = delivery_id
    if event:
        headers["X-GitHub-Event"] = event
    return headers


def verify_hmac_sha256_hex(
    headers: Mapping[str, str], body: bytes, secrets: list[str], header: str = HMAC_SHA256_HEX.header
) -> str:
    """Hex HMAC-SHA256 of the raw body in ``header`` (a ``sha256=`` prefix is tolerated). Returns ""."""
    return get_scheme(HMAC_SHA256_HEX.name, header).verify(headers, body, secrets)


def sign_hmac_sha256_hex(body: bytes, secret: str, header: str = "X-Signature") -> dict[str, str]:
    return {header: HMAC_SHA256_HEX.signature(secret, body)}


def verify_hmac_sha256_base64(
    headers: Mapping[str, str], body: bytes, secrets: list[str], header: str = HMAC_SHA256_BASE64.header
) -> str:
    """Base64 HMAC-SHA256 of the raw body in ``header``. Returns ""."""
    return get_scheme(HMAC_SHA256_BASE64.name, header).verify(headers, body, secrets)


def sign_hmac_sha256_base64(body: bytes, secret: str, header: str = "X-Signature") -> dict[str, str]:
    return {header: HMAC_SHA256_BASE64.signature(secret, body)}


def body_sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()
