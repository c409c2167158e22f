"""Management commands: create_organization, create_api_key (prints only the key)."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from integrations.models import ApiKey, Organization

from .conftest import integration_payload

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_create_organization():
    out, _ = run("create_organization", "north-shop", "--name", "North Shop")
    assert out == "north-shop\n"
    org = Organization.objects.get(slug="north-shop")
    assert org.name == "North Shop"
    # Idempotent for the same name; a different name for an existing slug is an error.
    assert run("create_organization", "north-shop", "--name", "North Shop")[0] == "north-shop\n"
    assert Organization.objects.filter(slug="north-shop").count() == 1
    with pytest.raises(CommandError, match="already exists"):
        run("create_organization", "north-shop", "--name", "Another")


def test_create_organization_rejects_a_bad_slug():
    with pytest.raises(CommandError, match="not a valid slug"):
        run("create_organization", "North Shop!")
    assert not Organization.objects.exists()


def test_create_api_key_prints_only_a_working_key(org):
    out, _ = run("create_api_key", "--organization", "acme", "--role", "manager", "--name", "deploy")
    raw = out.strip()
    assert out == raw + "\n" and raw.startswith("ihk_") and " " not in raw
    key = ApiKey.objects.get(name="deploy")
    assert (key.organization, key.role) == (org, "manager") and raw.startswith(key.prefix)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/integrations").status_code == 200
    assert client.post("/api/v1/integrations", integration_payload(), format="json").status_code == 403


def test_create_api_key_errors(org):
    with pytest.raises(CommandError, match="no organization"):
        run("create_api_key", "--organization", "nope", "--role", "viewer")
    with pytest.raises(CommandError):
        run("create_api_key", "--organization", "acme", "--role", "emperor")
    assert not ApiKey.objects.exists()


@pytest.mark.postgres
def test_create_api_key_stdout_as_a_script_sees_it(transactional_db, org):
    """``KEY=$(manage.py create_api_key ...)`` must capture the key and nothing else."""
    from tests.conftest import ROOT, _worker_env

    result = subprocess.run(
        [sys.executable, "manage.py", "create_api_key", "--organization", "acme", "--role", "viewer"],
        cwd=ROOT, env=_worker_env(), capture_output=True, text=True, timeout=60, check=True,
    )
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ihk_"), result.stdout
    assert ApiKey.objects.get().prefix == lines[0][:12]
