from integrations.models import Integration


class IntegrationHealth(Integration):
    """Integrations seen through their health signals (admin list only; no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = "integration health"
        verbose_name_plural = "integration health"
