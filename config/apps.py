from pathlib import Path

from django.apps import AppConfig
from django.conf import settings

from .celery import app as celery_app


def make_var_dirs() -> None:
    """The folders the embedded shape writes to: static files, and the file-system broker's folders."""
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {}
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
            if options.get(key):
                Path(options[key]).mkdir(parents=True, exist_ok=True)


class HubConfig(AppConfig):
    """The top of the house as an app: ``runhub`` (web + worker + beat), ``seed_demo`` and
    ``beat_health`` wire every app together, so they live above all of them; and the folders the
    hub writes to are made when Django starts (web, worker, beat, commands), never at settings import."""

    name = "config"
    label = "hub"
    verbose_name = "Integration Hub"

    def ready(self) -> None:
        make_var_dirs()
        if settings.CELERY_TASK_ALWAYS_EAGER:
            # Apps queue their tasks by name; run inline, a name is found only among registered tasks.
            celery_app.autodiscover_tasks(force=True)
