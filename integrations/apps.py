from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Organizations and integrations"

    def ready(self) -> None:
        from . import checks, schema  # noqa: F401  (register system checks and OpenAPI auth schemes)
