"""The KiotViet connector: client-credentials token + ``Retailer`` header, 15 streams, product write-back,
webhook registration and signed webhooks."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.conf import settings

from connectors.base import Connector, InboundRequest, RecordRow, WebhookDelivery, WebhookOutcome
from connectors.errors import AuthError, ConfigError, ConnectorError, FatalError
from connectors.signatures import split_secrets
from integrations.models import Integration
from records.models import Location
from records.upsert import upsert_rows

from . import mappers, webhooks
from .schemas import DEFAULT_WEBHOOK_EVENTS, TOKEN_URL, KiotVietConfig, KiotVietCredentials
from .streams import STREAMS

if TYPE_CHECKING:
    from connectors.base import StoredEvent

SCOPES = "PublicApi.Access"
WEBHOOK_PATH = "/api/webhooks/kiotviet"


def kiotviet_message(exc: ConnectorError) -> str:
    """KiotViet's own words from a refused call (``responseStatus.message``), else the error's."""
    response = getattr(exc, "response", None)
    try:
        status = (response.json() or {}).get("responseStatus") or {}
    except (AttributeError, ValueError):
        status = {}
    if isinstance(status, dict) and status.get("message"):
        code = status.get("errorCode")
        return f"{code}: {status['message']}" if code else str(status["message"])
    return exc.message


class KiotVietConnector(Connector):
    provider = "kiotviet"
    display_name = "KiotViet"
    integration_type = "inventory"
    default_base_url = "https://public.kiotapi.com"
    credentials_serializer = KiotVietCredentials
    config_serializer = KiotVietConfig
    secret_fields = ("client_secret",)
    streams = STREAMS
    rate_limit = (5000, 3600.0)  # KiotViet: 5,000 GET requests per hour
    # KiotViet switches a hook off for good when it answers 400-405: a forgery is stored as rejected
    # and answered 200, so the genuine hook stays alive (KiotViet's webhook documentation).
    webhook_reject_status = 200

    # --- configuration ---------------------------------------------------------------------------
    @property
    def config(self) -> dict[str, Any]:
        return self.integration.config or {}

    @property
    def retailer(self) -> str:
        return str((self.integration.credentials or {}).get("retailer") or "")

    @classmethod
    def callback_url(cls, integration: Integration) -> str:
        # KiotViet's payload names no retailer: the integration is found by this token in the URL.
        return f"{settings.HUB_PUBLIC_URL}{WEBHOOK_PATH}?{urlencode({'token': integration.webhook_key})}"

    # --- auth --------------------------------------------------------------------------------------
    def obtain_token(self) -> dict[str, Any]:
        creds = self.integration.credentials or {}
        if not creds.get("client_id") or not creds.get("client_secret") or not creds.get("retailer"):
            raise ConfigError("client_id, client_secret and retailer are required")
        form = {"grant_type": "client_credentials", "client_id": creds["client_id"],
                "client_secret": creds["client_secret"], "scopes": SCOPES}
        try:
            # Asking twice for a token is harmless: retried like a GET.
            body = self.http.request("POST", self.config.get("token_url") or TOKEN_URL, action="kiotviet.token",
                                     data=form, auth=False, idempotent=True).json()
        except FatalError as exc:
            if exc.status_code in (400, 401):  # IdentityServer: 400 invalid_client
                raise AuthError(f"KiotViet refused the client credentials: {exc.message}",
                                status_code=exc.status_code) from None
            raise
        except ValueError:
            raise FatalError("the token endpoint did not answer JSON") from None
        if not isinstance(body, dict) or not body.get("access_token"):
            raise FatalError("the token endpoint answered without an access_token")
        return {"access_token": body["access_token"], "token_type": body.get("token_type", "Bearer"),
                "expires_at": int(time.time()) + int(body.get("expires_in") or 86400)}

    def auth_headers(self, token: dict[str, Any] | None) -> dict[str, str]:
        return {**super().auth_headers(token), "Retailer": self.retailer}

    # --- calls ---------------------------------------------------------------------------------------
    def call(self, method: str, path: str, *, action: str, params: dict[str, Any] | None = None,
             json: Any = None) -> Any:
        """One API call; a ``TokenException`` body on another status than 401 also renews the token once."""
        try:
            resp = self.http.request(method, path, action=action, params=params, json=json)
        except FatalError as exc:
            if "TokenException" not in kiotviet_message(exc):
                raise
            self.http.renew_token(stale=self.integration.token_cache)
            resp = self.http.request(method, path, action=action, params=params, json=json)
        try:
            return resp.json()
        except ValueError:
            raise FatalError(f"{method} {path}: KiotViet answered {resp.headers.get('Content-Type') or 'nothing'}, "
                             f"not JSON", status_code=resp.status_code) from None

    def get(self, path: str, *, action: str, params: dict[str, Any] | None = None) -> Any:
        return self.call("GET", path, action=action, params=params)

    def branches(self, action: str) -> list[dict[str, Any]]:
        """Every branch the retailer has (``/branches`` has no detail endpoint; a chain may pass a page)."""
        out: list[dict[str, Any]] = []
        while True:
            body = self.get("branches", action=action, params={"pageSize": 100, "currentItem": len(out)})
            data = [b for b in (body.get("data") or [] if isinstance(body, dict) else []) if isinstance(b, dict)]
            out += data
            if len(data) < 100 or len(out) >= int(body.get("total") or 0):
                return out

    def new_branches(self, branch_ids: set[str], action: str) -> list[RecordRow]:
        """Location rows of the branches first seen here (opened since the branches were last read).

        The branch list is read only when one is unknown. A branch it does not list stays unknown, and
        the record naming it fails with that reason.
        """
        known = set(Location.objects.filter(integration=self.integration, external_id__in=branch_ids)
                    .values_list("external_id", flat=True))
        new = branch_ids - known
        if not new:
            return []
        return [mappers.branch(b) for b in self.branches(action) if str(b.get("id")) in new]

    def ensure_branches(self, branch_ids: set[str], action: str) -> int:
        """Create the locations of branches first seen (``new_branches``); returns how many were created."""
        listed = self.new_branches(branch_ids, action)
        if listed:
            result = upsert_rows(self.integration, "records.Location", listed)
            if result.failed:
                raise FatalError(f"branch {result.errors[0]['external_id']}: {result.errors[0]['error']}")
        return len(listed)

    def test_connection(self) -> str:
        self.http.renew_token(stale=self.integration.token_cache)  # prove the credentials, not a cached token
        body = self.get("branches", action="kiotviet.test", params={"pageSize": 1})
        total = body.get("total") if isinstance(body, dict) else None
        return f"Connected to KiotViet retailer {self.retailer!r}: a token was issued and the branch list " \
               f"answered ({total} branch(es))."

    # --- write-back ----------------------------------------------------------------------------------
    def push(self, entity: str, record: Any) -> str:
        """Create or update one product at KiotViet; KiotViet's validation message is raised as is."""
        if entity != "products":
            return super().push(entity, record)
        body = self.product_body(record)
        external_id = self._own_external_id(record)
        try:
            if external_id:
                saved = self.call("PUT", f"products/{external_id}", action="kiotviet.products.update", json=body)
            else:
                saved = self.call("POST", "products", action="kiotviet.products.create", json=body)
        except FatalError as exc:
            raise FatalError(f"KiotViet refused the product: {kiotviet_message(exc)}",
                             status_code=exc.status_code) from None
        if not isinstance(saved, dict) or saved.get("id") is None:
            raise FatalError("KiotViet answered the product write without an id")
        return str(saved["id"])

    def product_body(self, record: Any) -> dict[str, Any]:
        """KiotViet's product from one of our Product records (or a mapping of its fields)."""
        get = record.get if isinstance(record, Mapping) else (lambda name, default=None: getattr(record, name, default))
        body: dict[str, Any] = {"name": get("name"), "allowsSale": True, "isActive": bool(get("is_active", True))}
        for ours, theirs in (("sku", "code"), ("barcode", "barCode"), ("unit", "unit"), ("description", "description")):
            if get(ours):
                body[theirs] = get(ours)
        if get("price") is not None:
            body["basePrice"] = float(get("price"))
        category = get("category")
        if isinstance(record, Mapping):
            category_id = get("category_id")
        elif category is not None and category.integration_id == self.integration.pk and category.external_id:
            category_id = category.external_id
        else:
            category_id = self.config.get("default_category")
        if category_id not in (None, ""):
            body["categoryId"] = int(category_id)
        return body

    def _own_external_id(self, record: Any) -> str:
        if isinstance(record, Mapping):
            return str(record.get("external_id") or record.get("id") or "")
        if getattr(record, "integration_id", None) == self.integration.pk:
            return record.external_id or ""
        return ""

    # --- webhook registration ----------------------------------------------------------------------
    def registered_webhooks(self) -> list[dict[str, Any]]:
        """Hooks at KiotViet that point at this integration's callback URL."""
        body = self.get("webhooks", action="kiotviet.webhooks.list", params={"pageSize": 100})
        ours = self.integration.webhook_key
        return [h for h in (body.get("data") or []) if isinstance(h, dict) and ours in str(h.get("url", ""))]

    def unregister_webhooks(self) -> list[int]:
        removed = []
        for hook in self.registered_webhooks():
            self.call("DELETE", f"webhooks/{hook['id']}", action="kiotviet.webhooks.delete")
            removed.append(int(hook["id"]))
        return removed

    def register_webhooks(self) -> list[dict[str, Any]]:
        """(Re-)register this integration's hooks, one per event type, signed with its webhook secret."""
        secrets = split_secrets(self.integration.webhook_secret)
        if not secrets:
            raise ConfigError("set a webhook secret first: KiotViet signs events with it")
        self.unregister_webhooks()  # as KiotViet's own plugin does on reconnect: no stale duplicates
        created = []
        for event_type in self.config.get("webhook_events") or DEFAULT_WEBHOOK_EVENTS:
            hook = {"Type": event_type, "Url": self.callback_url(self.integration), "IsActive": True,
                    "Description": f"Integration Hub: {self.integration.name}"[:200], "Secret": secrets[0]}
            try:
                created.append(self.call("POST", "webhooks", action="kiotviet.webhooks.create", json={"Webhook": hook}))
            except FatalError as exc:
                raise FatalError(f"KiotViet refused the {event_type} webhook: {kiotviet_message(exc)}",
                                 status_code=exc.status_code) from None
        return created

    # --- inbound webhooks --------------------------------------------------------------------------
    def verify_webhook(self, request: InboundRequest, secret: str) -> WebhookDelivery:
        return webhooks.verify(request, secret)

    def handle_webhook(self, event: StoredEvent) -> WebhookOutcome:
        return webhooks.handle(self, event)
