"""Create the demo organization, an admin login and integrations connected to the built-in sandboxes.

Idempotent: a second run changes nothing but prints the login again.
"""

from __future__ import annotations

import base64
import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from connectors.registry import providers
from integrations.models import Integration, Membership, Organization, Role

DEMO_ORG = {"slug": "demo", "name": "Demo Retail"}


def demo_integrations(base: str) -> list[dict]:
    """One integration per built-in provider that has a sandbox, pointed at this hub's /sandbox/."""
    whsec = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    specs = [
        {
            "code": "demo-store",
            "name": "Demo Store (sandbox)",
            "provider": "demo",
            "type": "inventory",
            "base_url": f"{base}/sandbox/demo",
            "credentials": {"client_id": "demo-retail", "client_secret": "demo-retail-secret"},
            "webhook_secret": whsec,
            "auto_sync_enabled": True,
            "sync_interval_minutes": 30,
            "description": "The built-in Demo Store sandbox: a faithful retail API served by this hub.",
        },
        {
            "code": "generic-webhook",
            "name": "Generic webhook (HMAC-SHA256 hex)",
            "provider": "webhook",
            "type": "webhook",
            "config": {"signature_scheme": "hmac-sha256-hex", "signature_header": "X-Signature"},
            "webhook_secret": secrets.token_urlsafe(24),
            "description": "Receives any JSON/form/XML webhook signed with HMAC-SHA256 (hex) in X-Signature.",
        },
    ]
    known = providers()
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
