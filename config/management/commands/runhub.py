"""Run the whole hub in one terminal: web server, Celery worker and Celery beat.

`make run` calls this after migrating and seeding. Ctrl-C stops all three. In production run them
as separate processes (docker-compose.yml): gunicorn, `celery -A config worker`, `celery -A config beat`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run web + Celery worker + Celery beat together (development and demo)."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=os.environ.get("HUB_BIND", "127.0.0.1:8000"))
        parser.add_argument("--concurrency", type=int, default=2)

    def handle(self, *args, bind: str, concurrency: int, **options):
        py = sys.executable
        worker_flags = ["--without-gossip", "--without-mingle", "--without-heartbeat"]
        commands = {
            "web": [py, "-m", "gunicorn", "config.wsgi:application", "-b", bind, "-w", "3",
                    "--access-logfile", "-"],
            "worker": [py, "-m", "celery", "-A", "config", "worker", "-Q", "default,sync,webhooks",
                       "-c", str(concurrency), "-l", "info", *worker_flags],
            "beat": [py, "-m", "celery", "-A", "config", "beat", "-l", "info",
                     "-s", str(settings.VAR_DIR / "celerybeat-schedule")],
        }
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        procs = {name: subprocess.Popen(cmd, start_new_session=True) for name, cmd in commands.items()}  # noqa: S603
        broker = "Redis" if settings.REDIS_URL else "embedded file-system broker"
        database = "PostgreSQL" if settings.IS_POSTGRES else "SQLite"
        self.stdout.write(self.style.SUCCESS(
            f"Integration Hub on http://{bind}/  (admin: http://{bind}/admin/, API docs: http://{bind}/api/docs/)\n"
            f"database: {database}, broker: {broker}; Ctrl-C stops web, worker and beat."
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
                for name, proc in procs.items():
                    if proc.poll() is not None:
                        self.stderr.write(f"{name} exited with {proc.returncode}; stopping the others")
                        stopping = True
                time.sleep(0.5)
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + 15
            for proc in procs.values():
                try:
                    proc.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
