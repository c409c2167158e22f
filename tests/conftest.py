"""Shared fixtures: organizations and role-holding clients, service checks, a real Celery worker.

Tests marked ``postgres`` / ``redis`` need those services (DATABASE_URL / REDIS_URL). Without a URL,
config.pytest_services starts throwaway instances when the binaries are installed; when one is not,
its tests are skipped on a developer's machine, and they fail under CI=true, where a skip would hide
a missing service.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _require(condition: bool, what: str, service: str) -> None:
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{what} is required under CI=true", pytrace=False)
    from config.pytest_services import missing_reason

    pytest.skip(f"{what} not configured; {missing_reason(service) or 'no throwaway instance was started'}")


def pytest_terminal_summary(terminalreporter) -> None:
    fuzz = sys.modules.get("tests.test_api_fuzz")
    if fuzz is not None and fuzz.TALLY:
        terminalreporter.section("schemathesis")
        terminalreporter.write_line(fuzz.summary())


def pytest_collection_modifyitems(config, items):
    # Tests that start a worker or use Redis/PostgreSQL run last, after the quick ones.
    items.sort(key=lambda item: 1 if item.get_closest_marker("worker") else 0)


@pytest.fixture(autouse=True)
def _services(request):
    if request.node.get_closest_marker("postgres"):
        _require(settings.IS_POSTGRES, "PostgreSQL (DATABASE_URL=postgres://...)", "postgres")
    if request.node.get_closest_marker("redis") or request.node.get_closest_marker("worker"):
        _require(bool(settings.REDIS_URL), "Redis (REDIS_URL=redis://...)", "redis")


@pytest.fixture(autouse=True, scope="session")
def _live_server_nodelay() -> Iterator[None]:
    """TCP_NODELAY on live_server's connections: Django's WSGI handler writes headers and body apart,
    and Nagle + delayed ACK then add ~40 ms to every sandbox request (measured: 45 ms -> 5 ms)."""
    import socket

    from django.test.testcases import QuietWSGIRequestHandler

    original = QuietWSGIRequestHandler.setup

    def setup(self) -> None:
        original(self)
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    QuietWSGIRequestHandler.setup = setup
    yield
    QuietWSGIRequestHandler.setup = original


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()
    yield


# --- tenants, users, clients -----------------------------------------------------------------
@pytest.fixture
def org(db):
    from integrations.models import Organization

    return Organization.objects.create(name="Acme Retail", slug="acme")


@pytest.fixture
def other_org(db):
    from integrations.models import Organization

    return Organization.objects.create(name="Globex Foods", slug="globex")


@pytest.fixture
def make_user(db):
    from django.contrib.auth import get_user_model

    from integrations.models import Membership

    def make(org, role="admin", username=None, **extra):
        user = get_user_model().objects.create_user(
            username=username or f"{role}-{org.slug}", password="pw-for-tests-only", **extra
        )
        Membership.objects.create(user=user, organization=org, role=role)
        return user

    return make


@pytest.fixture
def api_client_for(db):
    """``api_client_for(org, role)`` -> a DRF APIClient authenticated with a fresh API key."""
    from rest_framework.test import APIClient

    from integrations.models import ApiKey

    def make(org, role="admin"):
        _, raw = ApiKey.issue(org, name=f"{role} key", role=role)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return client

    return make


@pytest.fixture
def api(org, api_client_for):
    """An admin API client of ``org``."""
    return api_client_for(org, "admin")


# --- a real Celery worker --------------------------------------------------------------------
def _worker_env() -> dict[str, str]:
    db = connection.settings_dict
    if settings.IS_POSTGRES:
        url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    else:
        url = f"sqlite:///{db['NAME']}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        DATABASE_URL=url,
        REDIS_URL=settings.REDIS_URL,
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        SECRET_KEY=settings.SECRET_KEY,
        ENCRYPTION_KEYS=settings.ENCRYPTION_KEYS,
        DEBUG="true",
        TESTING="true",
        SANDBOXES_ENABLED="true",
        HUB_VAR_DIR=str(settings.VAR_DIR),
        # Short backoffs so retries in tests take milliseconds, not seconds.
        CONNECTOR_HTTP_BACKOFF_BASE=os.environ.get("CONNECTOR_HTTP_BACKOFF_BASE", "0.05"),
        CONNECTOR_HTTP_BACKOFF_MAX=os.environ.get("CONNECTOR_HTTP_BACKOFF_MAX", "0.5"),
        PYTHONUNBUFFERED="1",
    )
    return env


class Worker:
    def __init__(self, proc: subprocess.Popen, log_path: Path):
        self.proc = proc
        self.log_path = log_path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the whole worker (parent and pool children), as a crash would."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


def start_worker(tmp_path: Path, queues: str | None = "default,sync,webhooks", concurrency: int = 2,
                 env: dict[str, str] | None = None, name: str = "worker", lean: bool = True,
                 keep_messages: bool = False) -> Worker:
    """A worker process; ``queues=None`` starts it with no ``-Q`` (the declared queues); ``env`` overrides
    the environment (e.g. a throwaway broker); ``lean=False`` keeps gossip, mingle and event heartbeats
    on, as docker-compose runs the worker; ``keep_messages``: a worker taking over from a killed one
    finds what that one left."""
    import redis

    env = {**_worker_env(), **(env or {})}
    if not keep_messages:
        # No messages left by earlier tests (only our queues: the Redis DB may be shared).
        client = redis.Redis.from_url(env["CELERY_BROKER_URL"])
        client.delete("default", "sync", "webhooks", "unacked", "unacked_index")
    log_path = tmp_path / f"{name}.log"
    queue_args = ["-Q", queues] if queues else []
    if name != "worker":  # two workers on one host need distinct node names
        queue_args += ["-n", f"{name}@%h"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", *queue_args, "-c", str(concurrency),
         *(["--without-heartbeat", "--without-gossip", "--without-mingle"] if lean else []), "-l", "info"],
        cwd=ROOT, env=env, stdout=log_path.open("w"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    worker = Worker(proc, log_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"celery worker exited:\n{worker.log()}")
        if "ready." in worker.log():
            return worker
        time.sleep(0.2)
    worker.stop()
    raise RuntimeError(f"celery worker did not start:\n{worker.log()}")


@pytest.fixture
def celery_worker_proc(transactional_db, tmp_path) -> Iterator[Worker]:
    """A real ``celery -A config worker`` process on the test database and Redis broker."""
    _require(bool(settings.REDIS_URL), "Redis (REDIS_URL=redis://...)", "redis")
    worker = start_worker(tmp_path)
    yield worker
    worker.stop()


class ThrowawayRedis:
    """A redis-server of the test's own on a free port, with an append-only file so a restart keeps data."""

    def __init__(self, workdir: Path):
        self.port = _free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None
        workdir.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(  # noqa: S603
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.workdir),
             "--appendonly", "yes", "--save", "", "--protected-mode", "no"],
            stdout=(self.workdir / "redis.log").open("a"), stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_for(self.answers, timeout=10, message="throwaway redis up")

    def answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis.from_url(self.url, socket_connect_timeout=0.2).ping())
        except redis.RedisError:
            return False

    def stop(self, sig: int = signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_server(tmp_path) -> Iterator[ThrowawayRedis]:
    """A throwaway redis-server of the test's own, which the test may stop and start (broker outages)."""
    if shutil.which("redis-server") is None:
        _require(False, "redis-server binary (apt-get install redis-server)")
    server = ThrowawayRedis(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


def wait_for(predicate, timeout: float = 60, interval: float = 0.2, message: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value; fail with ``message`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {message}")
