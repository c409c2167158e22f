"""Click's Prepare and Complete as its SHOP API documents them (connectors/click/fixtures), signed as
Click signs them, get the documented answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.click.gateway import sign
from tests.payments.helpers import CLICK_SECRET, click_call, click_integration, open_payment

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).resolve().parents[3] / "connectors" / "click" / "fixtures"


def signed(name: str, **values: str) -> dict[str, str]:
    fields = json.loads((FIXTURES / f"{name}.json").read_text())
    fields = {k: values.get(v.strip("_").lower(), v) if v.startswith("__") else v for k, v in fields.items()}
    return {**fields, "sign_string": sign(fields, CLICK_SECRET)}


def test_prepare_and_complete_fixtures(client, org):
    click = click_integration(org)
    payment = open_payment(click, "A-10021", 1_000_000)
    prepared = click_call(client, click, signed("prepare"))
    assert prepared == {"click_trans_id": 2854001, "merchant_trans_id": "A-10021", "merchant_prepare_id": payment.pk,
                        "error": 0, "error_note": "Success"}
    completed = click_call(client, click, signed("complete", prepare_id=str(payment.pk)))
    assert completed == {"click_trans_id": 2854001, "merchant_trans_id": "A-10021",
                         "merchant_confirm_id": payment.pk, "error": 0, "error_note": "Success"}
