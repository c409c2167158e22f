"""Demo Store: our own small retail API and its sandbox (served by the hub under /sandbox/demo/).

It backs the demo organization, "test mode" and the end-to-end tests, and behaves like a real
provider: OAuth client credentials, cursor pagination, incremental reads with removed ids, 429s,
token expiry and Standard Webhooks-signed events. Credentials in the sandbox: any client_id, with
``<client_id>-secret`` as its secret.
"""

from connectors.registry import register

from .client import DemoConnector

register(DemoConnector)

__all__ = ["DemoConnector"]
