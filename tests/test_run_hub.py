"""What `make run` starts, on the embedded defaults (SQLite + file-system broker), used as a newcomer would:
pages load, every seeded integration syncs in full through the real worker, a signed webhook is processed."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import uuid

import pytest
import requests

from tests.conftest import ROOT, wait_for


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("hub")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO"))}
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "TESTING"):
        env.pop(name, None)
    env.update(
        HUB_VAR_DIR=str(tmp_path / "var"),
        HUB_PUBLIC_URL=f"http://127.0.0.1:{port}",
        DEBUG="true",
        SECRET_KEY="run-hub-test-secret-key-" + "z" * 30,
        PYTHONUNBUFFERED="1",
    )

    def manage(*args: str) -> str:
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    manage("migrate", "--noinput")
    seeded = manage("seed_demo")
    assert "admin login: admin / " in seeded
    log = (tmp_path / "hub.log").open("w")
    proc = subprocess.Popen([sys.executable, "manage.py", "runhub", "--bind", f"127.0.0.1:{port}"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"

    def up():
        try:
            return requests.get(f"{base}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return proc.poll() is not None and pytest.fail((tmp_path / "hub.log").read_text())

    wait_for(up, timeout=60, message="the hub to answer")
    key = manage("create_api_key", "--organization", "demo", "--role", "admin").strip()
    viewer = manage("create_api_key", "--organization", "demo", "--role", "viewer").strip()
    try:
        yield base, {"Authorization": f"Bearer {key}"}, tmp_path / "hub.log", (key, viewer)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def test_make_run_serves_syncs_and_receives_webhooks(hub):
    base, auth, log, _ = hub
    for path in ("/", "/admin/login/", "/api/docs/", "/api/schema/"):
        assert requests.get(base + path, timeout=10).status_code == 200, path
    assert requests.get(f"{base}/api/v1/integrations", timeout=10).status_code in (401, 403)

    integrations = requests.get(f"{base}/api/v1/integrations", headers=auth, timeout=10).json()["results"]
    by_code = {item["code"]: item for item in integrations}
    # A full sync of every seeded integration, as a newcomer clicking "sync" on each would start it. Web
    # runs several gunicorn processes: a sandbox's login stored by one must be seen by the next (iiko).
    job_ids: dict[int, str] = {}
    for item in integrations:
        answer = requests.post(f"{base}/api/v1/integrations/{item['id']}/sync", json={"full": True},
                               headers=auth, timeout=10)
        assert answer.status_code == 202, (item["code"], answer.text)
        job_ids.update({job: item["code"] for job in answer.json()["jobs"]})
    synced = set(job_ids.values())
    assert {"demo-store", "iiko", "kiotviet", "rest-sandbox"} <= synced, synced

    def finished():
        jobs = [requests.get(f"{base}/api/v1/sync-jobs/{i}", headers=auth, timeout=10).json() for i in job_ids]
        return jobs if all(j["status"] in ("completed", "failed", "cancelled") for j in jobs) else None

    jobs = wait_for(finished, timeout=300, interval=2, message="every seeded integration's full sync to finish")
    failed = [(job_ids[j["id"]], j["stream"], j["status"], j["error_message"])
              for j in jobs if j["status"] != "completed"]
    assert not failed, (failed, log.read_text()[-3000:])
    products = requests.get(f"{base}/api/v1/products", headers=auth, timeout=10).json()
    assert products["count"] > 0

    hook = by_code["generic-webhook"]
    detail = requests.get(f"{base}/api/v1/integrations/{hook['id']}", headers=auth, timeout=10).json()
    assert "webhook_secret" not in detail or not detail["webhook_secret"]
    # The seeded secret is only in the database (encrypted); read it the way an operator would: set a new one.
    secret = "rotated-demo-secret"
    patched = requests.patch(f"{base}/api/v1/integrations/{hook['id']}", json={"webhook_secret": secret},
                             headers=auth, timeout=10)
    assert patched.status_code == 200, patched.text
    body = json.dumps({"id": str(uuid.uuid4()), "type": "demo.ping"}).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    delivered = requests.post(hook["webhook_url"], data=body, timeout=10,
                              headers={"Content-Type": "application/json", "X-Signature": signature})
    assert delivered.status_code in (200, 202), delivered.text
    # A chunked delivery (no Content-Length) is read whole, not as an empty body.
    chunked_body = json.dumps({"id": str(uuid.uuid4()), "type": "demo.chunked"}).encode()
    chunked_signature = hmac.new(secret.encode(), chunked_body, hashlib.sha256).hexdigest()
    chunked = requests.post(hook["webhook_url"], data=iter([chunked_body[:10], chunked_body[10:]]), timeout=10,
                            headers={"Content-Type": "application/json", "X-Signature": chunked_signature})
    assert chunked.status_code == 200 and chunked.json()["status"] == "accepted", chunked.text

    def processed():
        events = requests.get(f"{base}/api/v1/webhooks", params={"integration": hook["id"]}, headers=auth,
                              timeout=10).json()["results"]
        return events if len(events) == 2 and {e["status"] for e in events} == {"completed"} else None

    wait_for(processed, timeout=90, interval=1, message="the webhook to be processed")


def test_a_client_written_from_the_services_document_passes_against_the_demo(hub):
    """The services API document's client, unchanged, against what `make run` serves (after the syncs above)."""
    from tests.services import seed_client

    base, auth, log, (admin, viewer) = hub
    lines: list[str] = []
    assert seed_client.run(base, admin, viewer, log=lines.append) == len(lines) >= 25
    print("\n".join(lines))
