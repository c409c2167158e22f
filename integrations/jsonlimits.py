"""JSON from outside the hub, with a nesting limit.

``json.loads`` raises ``RecursionError`` (not ``ValueError``) on a document nested ~1,000 deep, so
every ``except ValueError`` meant for bad input let it through as a 500 or a crashed delivery; and
a document a little less deep parses but can break later code that walks it. ``loads`` turns both
into ``JSONTooDeep``, a ``ValueError``: bad input, handled where bad JSON already is.
"""

from __future__ import annotations

import json
from typing import Any

# Deeper than any real API body, webhook or gateway call (Stripe's events reach ~8 levels).
MAX_DEPTH = 64


class JSONTooDeep(ValueError):
    def __init__(self, max_depth: int = MAX_DEPTH):
        super().__init__(f"JSON nested deeper than {max_depth} levels")
        self.max_depth = max_depth


def exceeds_depth(value: Any, max_depth: int = MAX_DEPTH) -> bool:
    """Whether ``value`` (parsed JSON) nests more than ``max_depth`` containers; iterative."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def loads(data: bytes | bytearray | str, *, max_depth: int = MAX_DEPTH, **kwargs: Any) -> Any:
    """``json.loads`` that raises ``JSONTooDeep`` (a ValueError) for documents nested too deep."""
    try:
        value = json.loads(data, **kwargs)
    except RecursionError:
        raise JSONTooDeep(max_depth) from None
    # Fewer brackets than the limit cannot nest deeper than it: skip the walk (the usual case).
    opening = (data.count(b"{") + data.count(b"[")) if isinstance(data, bytes | bytearray) else (
        data.count("{") + data.count("["))
    if opening > max_depth and exceeds_depth(value, max_depth):
        raise JSONTooDeep(max_depth)
    return value
