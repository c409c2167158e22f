"""Real servers on loopback for the services hub's tests: SMTP (aiosmtpd), Redis, S3 (moto), HTTP."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import _require

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_port() -> int:
    """A loopback port nothing listens on: connecting is refused at once (a provider that is down)."""
    return free_port()


# --- SMTP ------------------------------------------------------------------------------------------
@dataclass
class SmtpServer:
    port: int
    messages: list = field(default_factory=list)
    refuse_recipients: bool = False


class _Handler:
    def __init__(self, server: SmtpServer):
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd hook
        if self.server.refuse_recipients:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook
        from email import message_from_bytes

        self.server.messages.append({"to": list(envelope.rcpt_tos), "from": envelope.mail_from,
                                     "message": message_from_bytes(envelope.content)})
        return "250 Message accepted"


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on loopback that keeps what it receives."""
    from aiosmtpd.controller import Controller

    server = SmtpServer(port=free_port())
    controller = Controller(_Handler(server), hostname="127.0.0.1", port=server.port)
    controller.start()
    yield server
    controller.stop()


# --- a Redis server of our own (to stop and start it) --------------------------------------------------
class RedisProcess:
    def __init__(self, tmp: Path):
        self.port = free_port()
        self.tmp = tmp
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.tmp)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture
def rabbitmq() -> str:
    """The machine's RabbitMQ (skipped when absent on a developer machine, a failure under CI=true)."""
    _require(_listening(5672), "RabbitMQ on 127.0.0.1:5672", "rabbitmq")
    return RABBITMQ_URL


@pytest.fixture
def own_redis(tmp_path) -> Iterator[RedisProcess]:
    _require(bool(shutil.which("redis-server")), "the redis-server binary (broker-outage test)", "redis")
    server = RedisProcess(tmp_path)
    server.start()
    yield server
    server.stop()


# --- S3 (moto in server mode) ---------------------------------------------------------------------------
@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


# --- an HTTP receiver for outbound webhooks ---------------------------------------------------------------
class Receiver:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.statuses: list[int] = []  # answers to give, in order; then 200
        self.port = free_port()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server hook
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"headers": dict(self.headers.items()), "body": body})
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps({"received": status == 200}).encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


# --- integrations ----------------------------------------------------------------------------------------
@pytest.fixture
def make_integration(db):
    from integrations.models import Integration

    def make(org, provider: str, *, type: str, code: str | None = None, config=None, credentials=None,
             base_url: str = "", status: str = "active"):
        return Integration.objects.create(
            organization=org, name=f"{provider} {code or ''}".strip(), code=code or provider, type=type,
            provider=provider, config=config or {}, credentials=credentials or {}, base_url=base_url, status=status)

    return make


@pytest.fixture
def smtp_integration(make_integration):
    def make(org, port: int, *, code: str = "smtp", priority: int = 10):
        return make_integration(org, "smtp", type="email", code=code, config={
            "host": "127.0.0.1", "port": port, "from_email": "alerts@acme.test", "timeout": 3, "priority": priority})

    return make
