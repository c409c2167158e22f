"""Gateway integrations and callers for the payments tests (Payme JSON-RPC, Click form posts)."""

from __future__ import annotations

import base64
import itertools
from typing import Any
from urllib.parse import urlencode

from connectors.click.gateway import sign

PAYME_KEY = "payme-key-Secret&42"
CLICK_SECRET = "click-secret-XyZ"
_ids = itertools.count(1)


def payme_integration(org, code: str = "payme", **config: Any):
    from integrations.models import Integration

    return Integration.objects.create(
        organization=org, name="Payme", code=code, provider="payme", type="payment_gateway",
        credentials={"merchant_id": "5e730e8e0b852a417aa49ceb", "key": PAYME_KEY, "test_key": "test-" + PAYME_KEY},
        config={"account_field": "order_id", **config},
    )


def click_integration(org, code: str = "click"):
    from integrations.models import Integration

    return Integration.objects.create(
        organization=org, name="Click", code=code, provider="click", type="payment_gateway",
        credentials={"service_id": "21345", "merchant_id": "15432", "secret_key": CLICK_SECRET,
                     "merchant_user_id": "31337"},
    )


def open_payment(integration, reference: str, amount: int, currency: str = "UZS"):
    from payments import services

    return services.create_payment(integration.organization, [integration], amount=amount, currency=currency,
                                   reference=reference).transaction


def payme_auth(key: str = PAYME_KEY, login: str = "Paycom") -> str:
    return "Basic " + base64.b64encode(f"{login}:{key}".encode()).decode()


def payme_call(client, integration, method: str, params: Any, *, key: str | None = PAYME_KEY,
               base: str = "") -> dict[str, Any]:
    """One JSON-RPC call as Payme makes it; the decoded answer (HTTP 200 asserted)."""
    headers = {"HTTP_AUTHORIZATION": payme_auth(key)} if key is not None else {}
    body = {"jsonrpc": "2.0", "id": next(_ids), "method": method, "params": params}
    url = base + f"/api/payments/payme/{integration.webhook_key}"
    response = client.post(url, body, content_type="application/json", **headers)
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["id"] == body["id"]
    return data


def click_fields(action: int, *, click_trans_id: str = "2854001", merchant_trans_id: str, amount: str,
                 prepare_id: str = "", error: str = "0", secret: str = CLICK_SECRET,
                 service_id: str = "21345", sign_time: str = "2026-11-23 10:00:00") -> dict[str, str]:
    fields = {"click_trans_id": click_trans_id, "service_id": service_id, "click_paydoc_id": "1103" + click_trans_id,
              "merchant_trans_id": merchant_trans_id, "amount": amount, "action": str(action), "error": error,
              "error_note": "Success" if error == "0" else "Payment failed", "sign_time": sign_time}
    if action == 1:
        fields["merchant_prepare_id"] = prepare_id
    fields["sign_string"] = sign(fields, secret)
    return fields


def click_call(client, integration, fields: dict[str, str], base: str = "") -> dict[str, Any]:
    response = client.post(base + f"/api/payments/click/{integration.webhook_key}", urlencode(fields),
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200, response.content
    return response.json()
