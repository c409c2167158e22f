"""Click SHOP API: Click calls our Prepare/Complete endpoint; we answer from the payment ledger."""

from connectors.registry import register

from .client import ClickConnector

register(ClickConnector)

__all__ = ["ClickConnector"]
