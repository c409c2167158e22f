"""Log redaction masks secrets in structures and free text, and stays linear on hostile input."""

from __future__ import annotations

import time

from integrations.redaction import MASK, excerpt, redact, redact_text


def test_secret_keys_are_masked_in_structures():
    data = {"client_id": "shop", "client_secret": "s3cr3t", "nested": [{"password": "pw", "name": "ok"}]}
    assert redact(data) == {"client_id": "shop", "client_secret": MASK, "nested": [{"password": MASK, "name": "ok"}]}


def test_secrets_are_masked_in_text_and_known_values_anywhere():
    text = ('grant_type=client_credentials&client_secret=abc123 {"access_token": "tok123456"} '
            "Authorization: Bearer xyz987654")
    cleaned = redact_text(text, extra_secrets=("grant_type",))
    for secret in ("abc123", "tok123456", "xyz987654", "grant_type"):
        assert secret not in cleaned
    assert excerpt(b'{"api_key": "k-123456"}') == '{"api_key": "' + MASK + '"}'


def test_long_words_do_not_backtrack():
    # A ReDoS guard, not a speed target: the old pattern needed ~7 s for 15 kB and grew quadratically.
    started = time.perf_counter()
    redact_text("a" * 200_000 + " secret_token=x " + "b" * 200_000)
    assert time.perf_counter() - started < 2
