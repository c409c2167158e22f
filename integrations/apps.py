from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Organizations and integrations"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers system checks)
