"""What clients and staff type in, checked or shown the same way by every app's API and admin.

In the ground so that an orchestration app's API or admin needs nothing from integrations' own
API or admin modules (the floor above).
"""

from __future__ import annotations

from typing import Any

from django import forms

from .redaction import MASK


def contains_nul(value: Any) -> bool:
    """A NUL character in any key or string of a JSON value (iterative: nesting depth is the client's)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class MaskedTextInput(forms.TextInput):
    """A secret's box in a form: shows the mask when a value is stored, never the value."""

    def format_value(self, value):
        return MASK if value else ""
