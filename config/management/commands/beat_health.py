"""Exit non-zero unless Celery beat ran the sync dispatcher recently (a healthcheck for the beat container)."""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django_celery_beat.models import PeriodicTask


class Command(BaseCommand):
    help = "Check that Celery beat is alive: the dispatcher task ran within --max-age seconds."

    def add_arguments(self, parser):
        parser.add_argument("--max-age", type=int, default=180)
        parser.add_argument("--task", default="dispatch-due-syncs")

    def handle(self, *args, max_age: int, task: str, **options):
        entry = PeriodicTask.objects.filter(name=task).first()
        if entry is None or entry.last_run_at is None:
            raise CommandError(f"beat has not run {task!r} yet")
        age = timezone.now() - entry.last_run_at
        if age > timedelta(seconds=max_age):
            raise CommandError(f"beat last ran {task!r} {int(age.total_seconds())}s ago")
        self.stdout.write(f"beat ok: {task} ran {int(age.total_seconds())}s ago")
