"""KiotViet (Vietnam retail POS): full retail sync both ways, signed webhooks, and a faithful sandbox.

The connector follows KiotViet's Public API as KiotViet documents it; the
sandbox (served under /sandbox/kiotviet/) speaks the same protocol. Sandbox credentials: any
client_id with ``<client_id>-secret`` as its secret, any retailer name.
"""

from connectors.registry import register

from . import tasks  # noqa: F401 - register the Celery tasks
from .client import KiotVietConnector

register(KiotVietConnector)

__all__ = ["KiotVietConnector"]
