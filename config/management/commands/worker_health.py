"""Exit non-zero unless a Celery worker consumed recently (its heartbeat; a healthcheck for worker containers)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from health.workers import heartbeat_max_age, worker_status


class Command(BaseCommand):
    help = "Check that a worker (by node name) or every hub queue has a consumer with a fresh heartbeat."

    def add_arguments(self, parser):
        parser.add_argument("--name", help="Celery node name, e.g. webhooks@$HOSTNAME; default: every hub queue")
        parser.add_argument("--max-age", type=float, default=None,
                            help="seconds (default WORKER_HEARTBEAT_STALE_SECONDS)")

    def handle(self, *args, name: str | None, max_age: float | None, **options):
        status = worker_status(heartbeat_max_age() if max_age is None else max_age)
        if name:
            mine = [w for w in status["workers"] if w["name"] == name]
            if not mine:
                raise CommandError(f"worker {name!r} has not written a heartbeat yet")
            if not mine[0]["consuming"]:
                raise CommandError(f"worker {name!r} last consumed {mine[0]['age_seconds']}s ago")
            self.stdout.write(f"worker ok: {name} consumed {mine[0]['age_seconds']}s ago")
            return
        if not status["ok"]:
            raise CommandError(f"no consuming worker for queue(s) {', '.join(status['queues_without_consumer'])}")
        self.stdout.write("workers ok: " + ", ".join(w["name"] for w in status["workers"] if w["consuming"]))
