"""PayPal's money: decimal strings in the currency's exponent; the ledger keeps integer minor units."""

from __future__ import annotations

from typing import Any

from connectors.money import exponent, to_major, to_minor


def decimal_value(amount: int, currency: str) -> str:
    """Minor units -> PayPal's ``value`` (1999 USD -> "19.99", 500 JPY -> "500", 1005 KWD -> "1.005")."""
    return f"{to_major(amount, currency):.{exponent(currency)}f}"


def minor_units(money: dict[str, Any] | None) -> tuple[int | None, str]:
    """PayPal's ``{"currency_code", "value"}`` -> (minor units, or None when unreadable; currency)."""
    if not isinstance(money, dict):
        return None, ""
    currency = str(money.get("currency_code", "")).upper()
    return to_minor(str(money.get("value", "")), currency), currency
