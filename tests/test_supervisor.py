"""`runhub` supervises its children: one that dies is restarted with backoff and the restart is logged."""

from __future__ import annotations

import os
import signal
import sys
import time

from config.management.commands.runhub import Supervisor, hub_commands
from tests.conftest import wait_for

SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]


def test_a_child_that_dies_is_restarted_with_backoff_and_logged():
    lines: list[str] = []
    sup = Supervisor({"worker": SLEEPER, "crasher": [sys.executable, "-c", "raise SystemExit(3)"]},
                     log=lines.append, backoff_first=0.2, backoff_max=0.8, healthy_after=60)
    sup.start()
    try:
        first_pid = sup.children["worker"].proc.pid
        os.killpg(first_pid, signal.SIGKILL)  # as the OOM killer or a crash would

        def restarted() -> bool:
            sup.poll()
            return sup.children["worker"].proc.pid != first_pid and sup.children["worker"].proc.poll() is None

        wait_for(restarted, timeout=10, interval=0.05, message="the killed worker restarted")
        assert any(f"worker (pid {first_pid}) exited with code -9; restarting" in line for line in lines), lines

        # A child that keeps dying is restarted with a growing delay, capped.
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            sup.poll()
            time.sleep(0.02)
        delays = [float(line.split("restarting in ")[1].split("s")[0]) for line in lines
                  if line.startswith("crasher") and "restarting in" in line]
        assert delays[:4] == [0.2, 0.4, 0.8, 0.8], delays
        assert sup.children["crasher"].restarts >= 3
    finally:
        sup.stop(grace=5)
    assert all(child.proc.poll() is not None for child in sup.children.values())


def test_runhub_runs_a_webhooks_worker_and_a_sync_worker(settings):
    commands = hub_commands("127.0.0.1:8000", concurrency=2, sync_concurrency=3)
    queues = {name: cmd[cmd.index("-Q") + 1] for name, cmd in commands.items() if "-Q" in cmd}
    assert queues == {"worker-webhooks": "webhooks,default", "worker-sync": "sync"}
    assert commands["worker-sync"][commands["worker-sync"].index("-c") + 1] == "3"
    assert set(commands) == {"web", "worker-webhooks", "worker-sync", "beat"}


def test_docker_compose_restarts_every_long_running_service_and_splits_the_workers():
    import yaml

    from tests.conftest import ROOT

    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    long_running = {name for name in services if name != "migrate"}
    assert {name for name in long_running if services[name].get("restart") == "unless-stopped"} == long_running

    def queues(service: str) -> str:
        command = services[service]["command"]
        return command[command.index("-Q") + 1]

    assert queues("worker") == "webhooks,default" and queues("worker-sync") == "sync"
    for worker in ("worker", "worker-sync"):
        assert "worker_health" in " ".join(services[worker]["healthcheck"]["test"])
