from django.apps import AppConfig

from connectors.gateway import set_ledger


class PaymentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        # Hand the gateways their port to the ledger (they never import this app). The ledger imports
        # models: only once every app is loaded.
        from .ledger import PaymentsLedger

        set_ledger(PaymentsLedger())
