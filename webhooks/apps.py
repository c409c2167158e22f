from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhook inbox"

    def ready(self) -> None:
        # Connect the lookup cache's signals in every process (admin, API, worker, manage commands), so
        # whichever process saves an integration tells the receiving processes (webhooks/lookup.py).
        from . import lookup  # noqa: F401 - it imports models: only once every app is loaded
