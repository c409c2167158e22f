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


def when(value) -> str:
    """A time in the user's time zone with how long ago it was ("06 Dec 14:02 · 3 min ago")."""
    if not value:
        return "—"
    from django.utils import timezone
    from django.utils.timesince import timesince, timeuntil

    local = timezone.localtime(value)
    now = timezone.now()
    relative = f"{timesince(value, now, depth=1)} ago" if value <= now else f"in {timeuntil(value, now, depth=1)}"
    return format_html('<time datetime="{}" title="{}" class="hub-when">{}<span class="hub-ago">{}</span></time>',
                       value.isoformat(), local.strftime("%Y-%m-%d %H:%M:%S %Z"), local.strftime("%d %b %H:%M"),
                       relative.replace("\xa0", " "))


def number(value) -> str:
    """An integer with thousands separators; '—' for none."""
    return "—" if value is None else f"{value:,}"


def truncate(text: str | None, limit: int = 60) -> str:
    """Long text cut to one line of a list, the whole of it in the tooltip."""
    if not text:
        return "—"
    text = redact_text(str(text))
    short = text if len(text) <= limit else text[: limit - 1] + "…"
    return format_html('<span title="{}" class="hub-trunc">{}</span>', text[:2000], short)


# Status value -> unfold label colour, one table for every status column of the console.
STATUS_COLOURS = {
    "active": "success", "completed": "success", "processed": "success", "succeeded": "success", "paid": "success",
    "delivered": "success", "sent": "success", "ok": "success", "healthy": "success", "synced": "success",
    "running": "info", "queued": "info", "pending": "info", "processing": "info", "created": "info",
    "retrying": "warning", "partial": "warning", "cancelled": "warning", "ignored": "warning",
    "warning": "warning", "degraded": "warning", "inactive": "warning", "refunded": "warning", "rejected": "warning",
    "failed": "danger", "error": "danger", "dead": "danger", "down": "danger", "unhealthy": "danger",
}


def badge(value: str | None, label: str | None = None) -> str:
    """A coloured status label (classes from the console's own stylesheet)."""
    if not value:
        return "—"
    colour = STATUS_COLOURS.get(str(value).lower(), "neutral")
    return format_html('<span class="hub-badge hub-badge--{}">{}</span>', colour, label or value)
