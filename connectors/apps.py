from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    name = "connectors"
    verbose_name = "Connectors"

    def ready(self) -> None:
        # Django imports an app's modules only once every app is loaded: not at module level here.
        from integrations.models import Integration, set_callback_url_resolver

        from .registry import autodiscover, get_connector_class

        autodiscover()

        def callback_url(integration: Integration) -> str | None:
            try:
                return get_connector_class(integration.provider).callback_url(integration)
            except KeyError:
                return None

        set_callback_url_resolver(callback_url)
