from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        # Hand the gateways their port to the ledger (they never import this app).
        from connectors.gateway import set_ledger

        from .ledger import PaymentsLedger

        set_ledger(PaymentsLedger())
