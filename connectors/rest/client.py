"""The generic REST connector: any JSON API, configured entirely in the console and the API.

Auth (config ``auth.type``; the secret in the credentials): none; ``api_key`` in a header or a query
parameter; a static ``bearer`` token; HTTP ``basic``; ``oauth2`` client credentials, through the kit's
token hooks (cached encrypted, renewed race-safe, once on a 401). Streams are built from the config
(``streams_for``); their fields come from the field mapping the runner applies.
"""

from __future__ import annotations

import base64
import time
from typing import Any, ClassVar

from connectors.base import Connector, Stream, SyncContext
from connectors.errors import AuthError, ConfigError, FatalError

from .schemas import AUTH_SECRET, RestConfig, RestCredentials
from .streams import build_streams


class RestConnector(Connector):
    provider = "rest"
    display_name = "Generic REST API"
    integration_type = "api"
    credentials_serializer = RestCredentials
    config_serializer = RestConfig
    secret_fields = ("api_key", "token", "password", "client_secret")
    configured_streams: ClassVar[bool] = True

    @classmethod
    def streams_for(cls, integration: Any) -> dict[str, Stream]:
        return build_streams(integration.config or {})

    # --- auth ------------------------------------------------------------------------------------------
    @property
    def auth(self) -> dict[str, Any]:
        auth = (self.integration.config or {}).get("auth")
        return auth if isinstance(auth, dict) else {}

    def _secret(self) -> str:
        kind = self.auth.get("type", "none")
        name = AUTH_SECRET.get(kind)
        value = (self.integration.credentials or {}).get(name, "") if name else ""
        if name and not value:
            raise ConfigError(f"auth type {kind} needs the {name} credential")
        return value

    def obtain_token(self) -> dict[str, Any] | None:
        if self.auth.get("type") != "oauth2":
            return None
        form = {"grant_type": "client_credentials", "client_id": self.auth.get("client_id", ""),
                "client_secret": self._secret()}
        if self.auth.get("scopes"):
            form["scope"] = self.auth["scopes"]
        # Asking twice for a token is harmless: retry it like a GET.
        resp = self.http.request("POST", self.auth.get("token_url", ""), action="rest.token", data=form, auth=False,
                                 idempotent=True, secret_response=True)
        try:
            body = resp.json()
        except ValueError:
            raise FatalError("the token endpoint answered with a body that is not JSON") from None
        if not isinstance(body, dict) or not body.get("access_token"):
            raise AuthError("the token endpoint answered without an access_token")
        try:
            ttl = int(body.get("expires_in") or 3600)
        except (TypeError, ValueError):
            ttl = 3600
        return {"access_token": str(body["access_token"]), "token_type": body.get("token_type", "Bearer"),
                "expires_at": int(time.time()) + ttl}

    def auth_headers(self, token: dict[str, Any] | None) -> dict[str, str]:
        kind = self.auth.get("type", "none")
        if kind == "oauth2":
            return super().auth_headers(token)
        if kind == "bearer":
            return {"Authorization": f"Bearer {self._secret()}"}
        if kind == "basic":
            pair = f"{self.auth.get('username', '')}:{self._secret()}".encode()
            return {"Authorization": f"Basic {base64.b64encode(pair).decode()}"}
        if kind == "api_key" and self.auth.get("in", "header") == "header":
            return {self.auth.get("name") or "X-API-Key": self._secret()}
        return {}

    def auth_params(self) -> dict[str, str]:
        """Query parameters that carry the credentials (an API key in the query); masked in every log."""
        if self.auth.get("type") == "api_key" and self.auth.get("in") == "query":
            return {self.auth.get("name") or "api_key": self._secret()}
        return {}

    # --- operations ---------------------------------------------------------------------------------
    def test_connection(self) -> str:
        if self.auth.get("type") == "oauth2":
            self.http.renew_token(stale=self.integration.token_cache)  # prove the credentials, not a cached token
        streams = self.streams_for(self.integration)
        if not streams:
            raise ConfigError("no streams are configured")
        name, stream = next(iter(streams.items()))
        page = next(iter(stream.read(SyncContext(self.integration, self, self.http), None, True)), None)
        count = len(page.records) if page else 0
        return f"Connected to {self.base_url}; read {count} record(s) from the first page of {name}."
