"""Webhook and callback URLs carry their endpoint's key: a real gunicorn, started as docker-compose
starts it, writes its access log (and Django's log lines) with the key masked, never whole."""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys

import pytest
import requests
import yaml

from integrations.models import Integration
from integrations.redaction import mask_url_keys
from tests.conftest import ROOT, _worker_env, wait_for

from .security import sample_body

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def compose_web_command() -> list[str]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["web"]["command"]


def test_every_way_the_hub_starts_gunicorn_uses_the_masking_config():
    assert "python:config.gunicorn_conf" in compose_web_command()
    cmd = re.search(r"^CMD (.*)$", (ROOT / "Dockerfile").read_text(), re.MULTILINE).group(1)
    assert "python:config.gunicorn_conf" in cmd
    assert '"python:config.gunicorn_conf"' in (ROOT / "connectors/management/commands/runhub.py").read_text()


@pytest.fixture
def gunicorn(transactional_db, tmp_path):
    """docker-compose's web command on a free port and one worker, its access log to a file."""
    port = free_port()
    command = compose_web_command()
    command[command.index("-b") + 1] = f"127.0.0.1:{port}"
    command[command.index("-w") + 1] = "1"
    access_log = tmp_path / "access.log"
    command[command.index("--access-logfile") + 1] = str(access_log)
    assert command[0] == "gunicorn"
    output = tmp_path / "gunicorn.out"
    proc = subprocess.Popen([sys.executable, "-m", *command], cwd=ROOT, env=_worker_env(),  # noqa: S603
                            stdout=output.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return requests.get(url + "/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    wait_for(up, timeout=30, message=f"gunicorn up: {shlex.join(command)}")
    yield url, access_log, output
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(10)


def test_access_log_masks_webhook_and_callback_keys(gunicorn, sender_for, org):
    url, access_log, output = gunicorn
    wh = sender_for()
    key = wh.integration.webhook_key
    payme = Integration.objects.create(organization=org, name="Payme", code="payme", provider="payme",
                                       type="payment_gateway", credentials={"key": "payme-secret-key"})
    unknown = "UnknownKey0123456789abcdefghijklm"
    body = sample_body()
    answers = [
        requests.post(url + wh.url, data=body, headers={**wh.headers(body), "Content-Type": "application/json"},
                      timeout=10),
        requests.post(f"{url}/api/webhooks/receive/{unknown}", data=body, timeout=10),
        requests.get(url + wh.url, timeout=10),  # 405
        requests.post(f"{url}/api/payments/payme/{payme.webhook_key}", json={"method": "CheckTransaction"},
                      timeout=10),
        requests.post(f"{url}/api/webhooks/kiotviet?token={key}&x=1", json={}, timeout=10),
        requests.post(f"{url}/api/payments/click/{unknown}", data={"a": "1"}, timeout=10),
    ]
    assert [a.status_code for a in answers][:3] == [200, 404, 405]
    wait_for(lambda: access_log.read_text().count("\n") >= 7, timeout=10, message="access log written")
    text = access_log.read_text()
    everything = text + output.read_text()
    for secret in (key, unknown, payme.webhook_key):
        assert secret not in everything
    assert f"POST /api/webhooks/receive/{key[:6]}… HTTP/1.1\" 200" in text
    assert f"/api/webhooks/receive/{unknown[:6]}…" in text
    assert f"/api/payments/payme/{payme.webhook_key[:6]}…" in text
    assert f"/api/webhooks/kiotviet?token={key[:6]}…&x=1" in text


def test_mask_url_keys_in_text(client):
    client.get("/healthz")  # the URLconf is loaded, as in a web process
    key = "AbCdEf0123456789ghijklmnopqrstuv"
    assert mask_url_keys(f"POST /api/webhooks/receive/{key} HTTP/1.1") == "POST /api/webhooks/receive/AbCdEf… HTTP/1.1"
    assert mask_url_keys(f"Not Found: /api/payments/click/{key}?a=1") == \
        "Not Found: /api/payments/click/AbCdEf…?a=1"
    assert mask_url_keys(f"/api/webhooks/kiotviet?token={key}") == "/api/webhooks/kiotviet?token=AbCdEf…"
    assert mask_url_keys("/api/v1/integrations/17/") == "/api/v1/integrations/17/"
    assert mask_url_keys(mask_url_keys(f"/api/webhooks/receive/{key}")) == "/api/webhooks/receive/AbCdEf…"


def test_django_log_lines_mask_url_keys(client, caplog, settings):
    """Django's request log (a 500 under /api/webhooks/receive/ prints the path) goes through the filter."""
    import logging

    from integrations.redaction import RedactingFilter

    client.get("/healthz")
    key = "AbCdEf0123456789ghijklmnopqrstuv"
    record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "Internal Server Error: %s",
                               (f"/api/webhooks/receive/{key}",), None)
    RedactingFilter().filter(record)
    assert record.getMessage() == "Internal Server Error: /api/webhooks/receive/AbCdEf…"
