"""Create the demo organization, an admin login and integrations connected to the built-in sandboxes.

Idempotent: a second run changes nothing but prints the login again. The login is kept in
``var/demo-login.txt``; the generic webhook receiver's URL and secret in ``var/demo-webhook.txt``
(shell syntax, for the README's signed-webhook example). Both files are readable by their owner only.
"""

from __future__ import annotations

import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from connectors.registry import connector_modules, providers
from integrations.models import Integration, Membership, Organization, Role

DEMO_ORG = {"slug": "demo", "name": "Demo Retail"}
GENERIC_WEBHOOK_CODE = "generic-webhook"


def demo_integrations(base: str) -> list[dict]:
    """Every connector package's demo integrations (its ``seed.demo_integrations``), pointed at ``base``."""
    known = providers()
    specs = [spec for module in connector_modules("seed") for spec in module.demo_integrations(base)]
    return [spec for spec in specs if spec["provider"] in known]


class Command(BaseCommand):
    help = "Create the demo organization, admin user and sandbox-backed integrations."

    def add_arguments(self, parser):
        parser.add_argument("--username", default=os.environ.get("DEMO_ADMIN_USER", "admin"))

    @transaction.atomic
    def handle(self, *args, username: str, **options):
        org, _ = Organization.objects.get_or_create(slug=DEMO_ORG["slug"], defaults={"name": DEMO_ORG["name"]})
        User = get_user_model()
        login_file = settings.VAR_DIR / "demo-login.txt"
        user = User.objects.filter(username=username).first()
        if user is None:
            password = secrets.token_urlsafe(12)
            user = User.objects.create_superuser(username=username, email="", password=password)
            settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
            login_file.write_text(f"admin login: {username} / {password}\n")
            login_file.chmod(0o600)
        Membership.objects.get_or_create(user=user, organization=org, defaults={"role": Role.OWNER})

        for spec in demo_integrations(settings.HUB_PUBLIC_URL):
            if Integration.objects.filter(organization=org, code=spec["code"]).exists():
                continue
            Integration.objects.create(organization=org, next_sync_at=timezone.now(), **spec)
            self.stdout.write(f"connected {spec['name']}")

        self.stdout.write(self.style.SUCCESS(f"demo organization '{org.slug}' ready"))
        if login_file.exists():
            self.stdout.write(login_file.read_text().strip())
        hook = Integration.objects.filter(organization=org, code=GENERIC_WEBHOOK_CODE, provider="webhook").first()
        if hook is not None and hook.webhook_secret:
            hook_file = settings.VAR_DIR / "demo-webhook.txt"
            _write_private(hook_file, (
                f"# {hook.name}: sign the raw body with HMAC-SHA256 (hex) into "
                f"{hook.config.get('signature_header', 'X-Signature')}.\n"
                f"WEBHOOK_URL={hook.webhook_url}\nWEBHOOK_SECRET={hook.webhook_secret}\n"
            ))
            self.stdout.write(f"generic webhook receiver: {hook.webhook_url} (its secret is in {hook_file})")


def _write_private(path, text: str) -> None:
    """Owner-only from its creation: the file holds a secret."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    path.chmod(0o600)
