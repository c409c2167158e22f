"""Settings for the webhook benchmark's gunicorn: the hub's own, plus a baseline view (webhook_urls)."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.webhook_urls"
