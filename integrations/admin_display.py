"""How the admin shows stored data: payloads redacted, pretty-printed and collapsible; money in major units."""

from __future__ import annotations

import json
from typing import Any

from django.utils.html import format_html

from .redaction import redact, redact_text

PAYLOAD_LIMIT = 100_000  # characters of one payload shown on a page


def redacted_json(value: Any) -> str:
    """Pretty JSON text of ``value`` with every secret-named key and token-like text masked."""
    return json.dumps(redact(value), indent=2, ensure_ascii=False, default=str)[:PAYLOAD_LIMIT]


def redacted_body(raw: bytes | memoryview | str | None) -> str:
    """A stored request body as readable, redacted text: JSON re-indented, anything else as text."""
    if raw is None:
        return ""
    text = raw if isinstance(raw, str) else bytes(raw).decode("utf-8", "replace")
    try:
        return redacted_json(json.loads(text))
    except ValueError:
        return redact_text(text[:PAYLOAD_LIMIT])


def json_block(value: Any, *, is_body: bool = False, open_: bool = True) -> str:
    """A collapsible, highlighted block (highlighting by static/console/console.js)."""
    text = redacted_body(value) if is_body else redacted_json(value)
    if not text or text in ("{}", "[]", "null"):
        return format_html('<span class="text-base-400">{}</span>', "—")
    lines = text.count("\n") + 1
    return format_html(
        '<details class="hub-json"{}><summary>{} line{}</summary><pre class="hub-json-code">{}</pre></details>',
        " open" if open_ else "", lines, "" if lines == 1 else "s", text,
    )
