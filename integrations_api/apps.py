from django.apps import AppConfig


class IntegrationsApiConfig(AppConfig):
    name = "integrations_api"
    verbose_name = "Integrations (API and admin)"
