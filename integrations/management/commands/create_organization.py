"""``manage.py create_organization <slug> --name <name>``: create a tenant (idempotent on the slug)."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.text import slugify

from integrations.models import Organization


class Command(BaseCommand):
    help = "Create an organization (tenant). Prints its slug."

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", help="Display name (default: the slug)")

    def handle(self, *args, slug: str, name: str | None, **options) -> None:
        if slugify(slug) != slug:
            raise CommandError(f"{slug!r} is not a valid slug (lower-case letters, digits, '-' and '_'): "
                               f"try {slugify(slug)!r}")
        org, created = Organization.objects.get_or_create(slug=slug, defaults={"name": name or slug})
        if not created and name and org.name != name:
            raise CommandError(f"organization {slug!r} already exists with the name {org.name!r}")
        self.stderr.write(f"{'Created' if created else 'Exists:'} organization {org.name!r} (id {org.pk}).")
        self.stdout.write(org.slug)
