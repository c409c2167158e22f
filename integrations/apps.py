from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Organizations and integrations"

    def ready(self) -> None:
        # Registering system checks and OpenAPI auth schemes is an import's side effect: ready() is its hook.
        from . import checks, schema  # noqa: F401
