from django.apps import AppConfig

from .registry import autodiscover, get_connector_class


class ConnectorsConfig(AppConfig):
    name = "connectors"
    verbose_name = "Connectors"

    def ready(self) -> None:
        # Models can be imported only once every app is loaded (ready), not when Django imports apps.py.
        from integrations.models import Integration, set_callback_url_resolver

        autodiscover()

        def callback_url(integration: Integration) -> str | None:
            try:
                return get_connector_class(integration.provider).callback_url(integration)
            except KeyError:
                return None

        set_callback_url_resolver(callback_url)
