import os
import sys

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _short_switch_interval(**kwargs) -> None:
    """A sync's runner thread waits for the interpreter after each database answer while its reader
    thread runs Python (``syncjobs.prefetch``): Python's default 5 ms switch interval, paid dozens of
    times a page, is cut to 0.5 ms for the worker (its forked pool processes inherit it)."""
    sys.setswitchinterval(0.0005)
