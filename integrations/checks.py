from django.conf import settings
from django.core import checks

from .crypto import parse_key_ring


@checks.register(checks.Tags.security, deploy=True)
def encryption_keys_check(app_configs, **kwargs):
    messages = []
    try:
        parse_key_ring(settings.ENCRYPTION_KEYS, settings.SECRET_KEY)
    except ValueError as exc:
        messages.append(checks.Error(f"ENCRYPTION_KEYS is invalid: {exc}", id="integrations.E001"))
        return messages
    if not settings.ENCRYPTION_KEYS:
        messages.append(
            checks.Info(
                "ENCRYPTION_KEYS is not set: secrets are encrypted with a key derived from SECRET_KEY. "
                "Set ENCRYPTION_KEYS (see .env.example) so SECRET_KEY can change without losing them.",
                id="integrations.I001",
            )
        )
    return messages
