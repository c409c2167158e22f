"""The Payme checkout link: ``https://checkout.paycom.uz/`` + base64("m=...;ac.<field>=...;a=...;c=...")."""

from __future__ import annotations

import base64

PRODUCTION = "https://checkout.paycom.uz"
TEST = "https://checkout.test.paycom.uz"


def checkout_url(merchant_id: str, account_field: str, reference: str, amount: int, *, return_url: str = "",
                 test: bool = False, host: str = "", lang: str = "") -> str:
    """``amount`` in tiyin. Values must not contain ``;`` (the parameter separator)."""
    for value in (merchant_id, reference, return_url, lang):
        if ";" in value:
            raise ValueError("checkout parameters cannot contain ';'")
    parts = [f"m={merchant_id}", f"ac.{account_field}={reference}", f"a={amount}"]
    if lang:
        parts.append(f"l={lang}")
    if return_url:
        parts.append(f"c={return_url}")
    encoded = base64.b64encode(";".join(parts).encode()).decode()
    return f"{(host or (TEST if test else PRODUCTION)).rstrip('/')}/{encoded}"


def decode(url: str) -> dict[str, str]:
    """The parameters of a checkout link (for the sandbox and tests)."""
    encoded = url.rstrip("/").rsplit("/", 1)[-1]
    text = base64.b64decode(encoded).decode()
    return dict(part.split("=", 1) for part in text.split(";") if "=" in part)
