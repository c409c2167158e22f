"""Sync settings (declared, with their defaults and reasons, in config/settings.py and .env.example)."""

from __future__ import annotations

from django.conf import settings


def setting(name: str) -> int | float:
    return getattr(settings, name)
