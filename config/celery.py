import os
import sys

from celery import Celery
from celery.signals import worker_init

from config import kombu_fixes

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# A lost Redis connection must never be an "Unrecoverable error" that ends the worker (kombu_fixes).
kombu_fixes.apply()

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Each worker's consumer writes a heartbeat row while it consumes (health.workers): health shows a
# worker whose process lives on but that stopped consuming.
from health.workers import ConsumerHeartbeat  # noqa: E402 - needs the app above; imports no models

app.steps["consumer"].add(ConsumerHeartbeat)


@worker_init.connect
def _short_switch_interval(**kwargs) -> None:
    """A sync's runner thread waits for the interpreter after each database answer while its reader
    thread runs Python (``syncjobs.prefetch``): Python's default 5 ms switch interval, paid dozens of
    times a page, is cut to 0.5 ms for the worker (its forked pool processes inherit it)."""
    sys.setswitchinterval(0.0005)
