"""The generic provider's integrations and signed senders: the webhooks app's fixtures (its tests use the
generic provider to drive the inbox)."""

from tests.webhooks.conftest import _fresh_lookup_cache, make_webhook_integration, sender_for  # noqa: F401
