"""The notification tests' fixtures: a real SMTP server on loopback, integrations made for an organization."""

from tests.services.conftest import make_integration, smtp_integration, smtp_server  # noqa: F401
