"""The Demo Store connector: OAuth client credentials, six streams, product write-back, webhooks."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from django.conf import settings

from connectors.base import Connector, InboundRequest, WebhookDelivery, WebhookOutcome
from connectors.errors import ConfigError, FatalError

from . import webhooks
from .schemas import DemoConfig, DemoCredentials
from .streams import STREAMS

# Our product fields -> the API's (write-back); category and prices are handled apart.
PRODUCT_FIELDS = ("name", "sku", "barcode", "description", "unit", "currency", "is_active")


class DemoConnector(Connector):
    provider = "demo"
    display_name = "Demo Store"
    integration_type = "inventory"
    credentials_serializer = DemoCredentials
    config_serializer = DemoConfig
    secret_fields = ("client_secret",)
    streams = STREAMS
    rate_limit = (100, 1.0)

    @property
    def base_url(self) -> str:
        # Without a base URL the integration talks to this hub's own sandbox.
        return (self.integration.base_url or f"{settings.HUB_PUBLIC_URL}/sandbox/demo").rstrip("/")

    @property
    def price_list(self) -> str:
        return (self.integration.config or {}).get("price_list") or "retail"

    # --- auth ----------------------------------------------------------------------------------------
    def obtain_token(self) -> dict[str, Any]:
        creds = self.integration.credentials or {}
        if not creds.get("client_id") or not creds.get("client_secret"):
            raise ConfigError("client_id and client_secret are required")
        token_url = (self.integration.config or {}).get("token_url") or f"{self.base_url}/oauth/token"
        form = {"grant_type": "client_credentials", "client_id": creds["client_id"],
                "client_secret": creds["client_secret"]}
        # Asking twice for a token is harmless: retry it like a GET.
        body = self.http.request("POST", token_url, action="demo.token", data=form, auth=False, idempotent=True).json()
        if not body.get("access_token"):
            raise FatalError("the token endpoint answered without an access_token")
        return {"access_token": body["access_token"], "token_type": body.get("token_type", "Bearer"),
                "expires_at": int(time.time()) + int(body.get("expires_in") or 3600)}

    def test_connection(self) -> str:
        self.http.renew_token(stale=self.integration.token_cache)  # prove the credentials, not a cached token
        body = self.http.get_json("api/products", action="demo.test", params={"page_size": 1})
        return f"Connected to the Demo Store as {self.integration.credentials.get('client_id')}; " \
               f"read {len(body.get('data', []))} product(s) from the first page."

    # --- write-back ----------------------------------------------------------------------------------
    def push(self, entity: str, record: Any) -> str:
        if entity != "products":
            return super().push(entity, record)
        body = self.product_body(record)
        external_id = self._own_external_id(record)
        if external_id:
            resp = self.http.request("PUT", f"api/products/{external_id}", action="demo.products.update", json=body)
        else:
            resp = self.http.request("POST", "api/products", action="demo.products.create", json=body)
        return str(resp.json()["id"])

    def product_body(self, record: Any) -> dict[str, Any]:
        """The API's product from one of our Product records (or a mapping of its fields)."""
        get = record.get if isinstance(record, Mapping) else (lambda name, default=None: getattr(record, name, default))
        body = {name: get(name) for name in PRODUCT_FIELDS if get(name) is not None}
        prices = {k: str(v) for k, v in (get("prices") or {}).items()}
        if get("price") is not None:
            prices[self.price_list] = str(get("price"))
        body["prices"] = prices
        category = get("category")
        if isinstance(record, Mapping):
            category_id = get("category_id")
        elif category is not None and category.integration_id == self.integration.pk and category.external_id:
            category_id = category.external_id
        else:
            category_id = None
        if category_id not in (None, ""):
            body["category_id"] = int(category_id)
        return body

    def _own_external_id(self, record: Any) -> str:
        if isinstance(record, Mapping):
            return str(record.get("external_id") or record.get("id") or "")
        if getattr(record, "integration_id", None) == self.integration.pk:
            return record.external_id or ""
        return ""

    # --- webhooks ------------------------------------------------------------------------------------
    def verify_webhook(self, request: InboundRequest, secret: str) -> WebhookDelivery:
        return webhooks.verify(request, secret)

    def handle_webhook(self, event) -> WebhookOutcome:
        return webhooks.handle(self, event)
