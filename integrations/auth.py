"""API authentication: organization API keys, user tokens and sessions.

``Authorization: Bearer ihk_...`` is an organization API key (acts with the key's role in its
organization); ``Authorization: Bearer <token>`` or ``Token <token>`` is a user's DRF token. Users in
several organizations choose one with the ``X-Organization`` header (resolved in permissions.py).
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, TokenAuthentication, get_authorization_header

from .models import API_KEY_PREFIX, ApiKey, hash_api_key

LAST_USED_RESOLUTION = timedelta(seconds=60)  # one write a minute per key, not one per request


class ApiKeyPrincipal:
    """The "user" of a request authenticated by an organization API key."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, api_key: ApiKey):
        self.api_key = api_key
        self.pk = None
        self.id = None
        self.username = f"api-key:{api_key.prefix}"

    def __str__(self) -> str:
        return self.username


def acting_user(request):
    """The human user behind a request, or None for an API key (audit and job "requested by")."""
    return None if isinstance(request.user, ApiKeyPrincipal) else request.user


def _bearer(request) -> tuple[str, str] | None:
    parts = get_authorization_header(request).split()
    if len(parts) != 2:
        return None
    try:
        return parts[0].decode().lower(), parts[1].decode()
    except UnicodeDecodeError:
        raise exceptions.AuthenticationFailed("Invalid authorization header.") from None


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        header = _bearer(request)
        if not header or header[0] != "bearer" or not header[1].startswith(API_KEY_PREFIX):
            return None
        key = ApiKey.objects.select_related("organization").filter(key_hash=hash_api_key(header[1])).first()
        if key is None or not key.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
            key.last_used_at = now
        return ApiKeyPrincipal(key), key

    def authenticate_header(self, request) -> str:
        return "Bearer"


class BearerTokenAuthentication(TokenAuthentication):
    """DRF's user token, accepted as ``Bearer <token>`` as well as ``Token <token>``."""

    def authenticate(self, request):
        header = _bearer(request)
        if not header or header[0] not in ("bearer", "token") or header[1].startswith(API_KEY_PREFIX):
            return None
        if "\x00" in header[1]:  # no token has one, and PostgreSQL refuses it in a query (was a 500)
            raise exceptions.AuthenticationFailed("Invalid token.")
        return self.authenticate_credentials(header[1])

    def authenticate_header(self, request) -> str:
        return "Bearer"
