from django.db import models

from integrations.models import Integration


class IntegrationHealth(Integration):
    """Integrations seen through their health signals (admin list only; no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = "integration health"
        verbose_name_plural = "integration health"


class WorkerHeartbeat(models.Model):
    """The last time each Celery worker's consumer loop ran (written by the worker every few seconds).

    A worker whose process is alive but that stopped consuming (broker gone, loop stuck) stops writing:
    ``/healthz/workers``, ``/metrics`` and ``manage.py worker_health`` show it by the age of this row.
    """

    name = models.CharField(max_length=200, unique=True, help_text="Celery node name, e.g. webhooks@host")
    queues = models.CharField(max_length=500, blank=True, help_text="Comma-separated queues it consumes")
    pid = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.queues})"
