"""``manage.py create_api_key --organization <slug> --role <role>``: prints ONLY the new key on stdout.

Scripts capture the output (``KEY=$(manage.py create_api_key ...)``), so anything else goes to stderr.
"""

from django.core.management.base import BaseCommand, CommandError

from integrations.models import ApiKey, Organization, Role


class Command(BaseCommand):
    help = "Issue an API key for an organization; prints only the key (shown this once, stored hashed)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--organization", required=True, help="Organization slug (or id)")
        parser.add_argument("--role", required=True, choices=list(Role.values))
        parser.add_argument("--name", default="", help="A label to recognise the key by")

    def handle(self, *args, organization: str, role: str, name: str, **options) -> None:
        lookup = {"pk": int(organization)} if organization.isdigit() else {"slug": organization}
        org = Organization.objects.filter(**lookup).first()
        if org is None:
            raise CommandError(f"no organization {organization!r} (create it with create_organization)")
        key, raw = ApiKey.issue(org, name=name or f"{role} key (command)", role=role)
        self.stderr.write(f"Issued {role} key {key.prefix}… for {org.slug} (id {key.pk}).")
        self.stdout.write(raw)
