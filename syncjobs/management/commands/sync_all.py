"""``manage.py sync_all <provider> [--full]``: queue a sync of every active integration of a provider."""

from django.core.management.base import BaseCommand, CommandError

from connectors.registry import providers
from syncjobs.services import sync_all


class Command(BaseCommand):
    help = "Queue a sync (all streams) of every active integration of a provider; prints the job ids."

    def add_arguments(self, parser) -> None:
        parser.add_argument("provider", help="A provider code from the connector registry, e.g. demo")
        parser.add_argument("--full", action="store_true", help="Full instead of incremental")

    def handle(self, *args, provider: str, full: bool, **options) -> None:
        if provider not in providers():
            raise CommandError(f"unknown provider {provider!r}; known: {', '.join(providers())}")
        jobs = sync_all(provider, full=full)
        self.stderr.write(f"Queued {len(jobs)} job(s) over {len({j.integration_id for j in jobs})} integration(s).")
        self.stdout.write(" ".join(str(job.pk) for job in jobs))
