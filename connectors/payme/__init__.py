"""Payme (Paycom) merchant API: Payme calls our JSON-RPC endpoint; we answer from the payment ledger."""

from connectors.registry import register

from .client import PaymeConnector

register(PaymeConnector)

__all__ = ["PaymeConnector"]
