"""Run the whole hub in one terminal: web server, two Celery workers and Celery beat, supervised.

`make run` calls this after migrating and seeding. Ctrl-C stops them all. A child that exits on its
own (a crash, a broker outage it did not survive) is restarted with a growing delay and the restart is
logged; nobody has to notice and restart it. In production run the same processes as separate
containers with restart policies (docker-compose.yml).

Two workers, so syncs never hold the slots webhooks need: one consumes ``webhooks,default`` (webhook
processing, beat's short periodic tasks), the other only ``sync``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.management.base import BaseCommand

# Restart delays: 1 s, doubling to at most 30 s; a child that ran this long is healthy again (delay reset).
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0
HEALTHY_AFTER = 60.0


@dataclass
class Child:
    name: str
    command: list[str]
    proc: subprocess.Popen | None = None
    started: float = 0.0
    delay: float = BACKOFF_FIRST
    restart_at: float | None = None
    restarts: int = 0


@dataclass
class Supervisor:
    """Start children, restart any that exits (with backoff), stop them all (process groups) at the end."""

    commands: dict[str, list[str]]
    log: Callable[[str], None] = print
    backoff_first: float = BACKOFF_FIRST
    backoff_max: float = BACKOFF_MAX
    healthy_after: float = HEALTHY_AFTER
    children: dict[str, Child] = field(default_factory=dict)

    def start(self) -> None:
        for name, command in self.commands.items():
            self.children[name] = child = Child(name, command, delay=self.backoff_first)
            self._spawn(child)

    def _spawn(self, child: Child) -> None:
        # Own session: a signal for one child (or its pool processes) never reaches the others.
        child.proc = subprocess.Popen(child.command, start_new_session=True)  # noqa: S603
        child.started = time.monotonic()
        child.restart_at = None
        self.log(f"started {child.name} (pid {child.proc.pid})")

    def poll(self) -> None:
        """One supervision step: notice exits, schedule and perform restarts."""
        now = time.monotonic()
        for child in self.children.values():
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.restarts += 1
                    self._spawn(child)
                continue
            code = child.proc.poll() if child.proc else None
            if code is None:
                continue
            if now - child.started >= self.healthy_after:
                child.delay = self.backoff_first
            child.restart_at = now + child.delay
            self.log(f"{child.name} (pid {child.proc.pid}) exited with code {code}; "
                     f"restarting in {child.delay:g}s (restart #{child.restarts + 1})")
            child.delay = min(child.delay * 2, self.backoff_max)

    def stop(self, grace: float = 15) -> None:
        procs = [c.proc for c in self.children.values() if c.proc is not None]
        for proc in procs:
            if proc.poll() is None:
                _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def hub_commands(bind: str, concurrency: int, sync_concurrency: int) -> dict[str, list[str]]:
    py = sys.executable
    worker = [py, "-m", "celery", "-A", "config", "worker", "-l", "info",
              "--without-gossip", "--without-mingle", "--without-heartbeat"]
    return {
        "web": [py, "-m", "gunicorn", "-c", "python:config.gunicorn_conf", "config.wsgi:application",
                "-b", bind, "-w", "3", "--access-logfile", "-"],
        "worker-webhooks": [*worker, "-n", "webhooks@%h", "-Q", "webhooks,default", "-c", str(concurrency)],
        "worker-sync": [*worker, "-n", "sync@%h", "-Q", "sync", "-c", str(sync_concurrency)],
        "beat": [py, "-m", "celery", "-A", "config", "beat", "-l", "info",
                 "-s", str(settings.VAR_DIR / "celerybeat-schedule")],
    }


class Command(BaseCommand):
    help = "Run web + two Celery workers (webhooks/default, sync) + Celery beat, restarting any that dies."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=os.environ.get("HUB_BIND", "127.0.0.1:8000"))
        parser.add_argument("--concurrency", type=int, default=2, help="processes of the webhooks/default worker")
        parser.add_argument("--sync-concurrency", type=int, default=2, help="processes of the sync worker")

    def handle(self, *args, bind: str, concurrency: int, sync_concurrency: int, **options):
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        supervisor = Supervisor(hub_commands(bind, concurrency, sync_concurrency),
                                log=lambda line: self.stderr.write(f"runhub: {line}"))
        supervisor.start()
        broker = "Redis" if settings.REDIS_URL else "embedded file-system broker"
        database = "PostgreSQL" if settings.IS_POSTGRES else "SQLite"
        self.stdout.write(self.style.SUCCESS(
            f"Integration Hub on http://{bind}/  (admin: http://{bind}/admin/, API docs: http://{bind}/api/docs/)\n"
            f"database: {database}, broker: {broker}; workers: webhooks+default, sync; Ctrl-C stops everything."
        ))
        login = settings.VAR_DIR / "demo-login.txt"
        if login.exists():
            self.stdout.write(login.read_text().strip())

        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                supervisor.poll()
                time.sleep(0.5)
        finally:
            supervisor.stop()
