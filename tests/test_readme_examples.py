"""The README's copy-paste examples work as written: the signed webhook to the demo's generic receiver,
and changing the port (HUB_BIND / runhub --bind)."""

from __future__ import annotations

import re
import stat
import subprocess

import pytest
from django.core.management import call_command

from tests.conftest import ROOT


def _sh_block(containing: str) -> str:
    blocks = re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    [block] = [b for b in blocks if containing in b]
    return block


@pytest.mark.django_db(transaction=True)
def test_the_readme_signed_webhook_reaches_the_demo_receiver(live_server, settings, tmp_path):
    from integrations.models import Integration
    from webhooks.models import WebhookEvent

    settings.VAR_DIR = tmp_path / "var"
    settings.HUB_PUBLIC_URL = live_server.url
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    kept = tmp_path / "var" / "demo-webhook.txt"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    hook = Integration.objects.get(organization__slug="demo", code="generic-webhook")
    assert f"WEBHOOK_SECRET={hook.webhook_secret}\n" in kept.read_text()

    example = _sh_block("var/demo-webhook.txt")
    run = subprocess.run(["bash", "-euo", "pipefail", "-c", example], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60)

    assert run.returncode == 0, run.stderr
    assert re.search(r"HTTP 2\d\d$", run.stdout.strip()), run.stdout
    event = WebhookEvent.objects.get(integration=hook)
    assert b'"order": 1001' in bytes(event.body) and event.integration.organization.slug == "demo"

    forged = subprocess.run(["bash", "-euo", "pipefail", "-c", example.replace('"$WEBHOOK_SECRET"', "wrong")],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert forged.stdout.strip().endswith("HTTP 401"), forged.stdout
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115 - a rerun keeps the same secret
    assert f"WEBHOOK_SECRET={hook.webhook_secret}\n" in kept.read_text()


@pytest.mark.parametrize(("environ", "argv", "bind"), [
    ({}, [], "127.0.0.1:8000"),
    ({"HUB_BIND": "0.0.0.0:8080"}, [], "0.0.0.0:8080"),
    ({"HUB_BIND": "0.0.0.0:8080"}, ["--bind", "127.0.0.1:9000"], "127.0.0.1:9000"),
])
def test_runhub_binds_to_hub_bind_or_the_flag(monkeypatch, environ, argv, bind):
    from config.management.commands.runhub import Command

    monkeypatch.delenv("HUB_BIND", raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert Command().create_parser("manage.py", "runhub").parse_args(argv).bind == bind


def test_the_readme_port_example_names_both_variables():
    example = _sh_block("HUB_BIND=")
    assert "HUB_PUBLIC_URL=http://127.0.0.1:8080" in example and "--bind 127.0.0.1:8080" in example
