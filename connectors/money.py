"""Minor units: the integer amounts the ledger stores, from and to the decimals documents carry."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.errors import MappingError

# ISO 4217 exponents that are not 2 (the default).
EXPONENTS = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "UGX": 0, "XAF": 0, "XOF": 0,
             "BHD": 3, "JOD": 3, "KWD": 3, "OMR": 3, "TND": 3}


def exponent(currency: str) -> int:
    return EXPONENTS.get((currency or "").upper(), 2)


def to_minor(value: Decimal | str | int, currency: str) -> int | None:
    """Decimal major units -> integer minor units; None when it is not a whole number of minor units."""
    try:
        scaled = Decimal(str(value)).scaleb(exponent(currency))
    except (InvalidOperation, ValueError):
        return None
    if not scaled.is_finite() or scaled != scaled.to_integral_value():
        return None
    return int(scaled)


def to_major(amount: int, currency: str) -> Decimal:
    return Decimal(amount).scaleb(-exponent(currency))


def decimal(value: Any, what: str = "value") -> Decimal | None:
    """A number a provider sent (string or number) as a Decimal, None when empty; a MappingError naming
    ``what`` otherwise (a boolean is not a number, though Decimal(str(True)) would fail late)."""
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise MappingError(f"{what}: not a number: {value!r}")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise MappingError(f"{what}: not a number: {value!r}") from None
