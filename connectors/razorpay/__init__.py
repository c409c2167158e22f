"""Razorpay: Orders, the checkout's payment signature, capture and refunds, signed webhooks."""

from connectors.registry import register

from .client import RazorpayConnector

register(RazorpayConnector)

__all__ = ["RazorpayConnector"]
