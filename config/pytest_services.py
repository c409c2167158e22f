"""Throwaway PostgreSQL and Redis for a test run that was given no DATABASE_URL / REDIS_URL.

A pytest plugin (``-p config.pytest_services`` in pyproject's addopts). The settings read
DATABASE_URL and REDIS_URL when they are imported, and pytest-django imports them while pytest loads
its initial conftests, so the services start in that same hook, ahead of pytest-django (tryfirst):
a PostgreSQL cluster (``initdb`` + ``pg_ctl``) and a ``redis-server`` on free ports in a temporary
directory, both removed when the run ends. A URL that is set is used as it is (CI sets both). When a
binary is missing the tests needing that service skip, and the summary says which binary and how to
install it. ``HUB_TEST_SERVICES=0`` turns this off.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# The test switch, said by the test runner (settings never guess it from sys.argv). Importing this
# plugin imports ``config`` and so its Celery app, which names ``config.settings`` as the settings
# module before pytest-django reads the ini's ``config.settings_test``: the switch must not depend on it.
os.environ.setdefault("TESTING", "true")

INSTALL = {
    "postgres": "install PostgreSQL's server binaries (Debian/Ubuntu: apt-get install postgresql; "
                "macOS: brew install postgresql) or set DATABASE_URL=postgres://...",
    "redis": "install redis-server (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) "
             "or set REDIS_URL=redis://...",
}


@dataclass
class Services:
    started: dict[str, str] = field(default_factory=dict)  # service -> what runs it, for the summary
    missing: dict[str, str] = field(default_factory=dict)  # service -> why it could not start
    cleanups: list = field(default_factory=list)

    def stop(self) -> None:
        while self.cleanups:
            try:
                self.cleanups.pop()()
            except Exception:  # noqa: BLE001, S110 - best effort at exit; the temp dir goes either way
                pass


SERVICES = Services()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _postgres_bindir() -> str | None:
    """The directory holding initdb, pg_ctl and postgres together (Debian keeps them out of PATH)."""
    candidates = [os.path.dirname(path) for name in ("initdb", "pg_ctl", "postgres") if (path := shutil.which(name))]
    if pg_config := shutil.which("pg_config"):
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        candidates.append(out)
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True)
    candidates += sorted(glob.glob("/usr/local/opt/postgresql*/bin") + glob.glob("/opt/homebrew/opt/postgresql*/bin"))
    for directory in candidates:
        if directory and all(os.access(os.path.join(directory, b), os.X_OK) for b in ("initdb", "pg_ctl", "postgres")):
            return directory
    return None


def _as_user(command: list[str]) -> tuple[list[str], str | None]:
    """PostgreSQL refuses to run as root: as root, run it as the 'postgres' OS user (or 'nobody')."""
    if os.geteuid() != 0:
        return command, None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        if runuser := shutil.which("runuser"):
            return [runuser, "-u", name, "--", *command], name
        if su := shutil.which("su"):
            return [su, name, "-s", "/bin/sh", "-c", " ".join(_quote(c) for c in command)], name
    raise RuntimeError("running as root and no 'postgres' user to run PostgreSQL as (useradd postgres)")


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


def start_postgres(tmp: Path) -> str:
    bindir = _postgres_bindir()
    if bindir is None:
        raise FileNotFoundError("initdb/pg_ctl/postgres not found")
    data, port = tmp / "pgdata", _free_port()
    _, user = _as_user(["true"])
    if user:
        entry = pwd.getpwnam(user)
        os.chown(tmp, entry.pw_uid, entry.pw_gid)
    run = lambda *cmd: subprocess.run(_as_user(list(cmd))[0], capture_output=True, text=True, check=True)  # noqa: E731
    run(f"{bindir}/initdb", "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync",
        "--locale=C")
    # A test database only: durability off for speed; unix socket in the temp dir, not /var/run.
    options = f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off " \
              "-c full_page_writes=off -c max_connections=200"
    run(f"{bindir}/pg_ctl", "-D", str(data), "-o", options, "-l", str(tmp / "postgres.log"), "-w", "-t", "60", "start")
    SERVICES.cleanups.append(lambda: run(f"{bindir}/pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop"))
    return f"postgres://postgres@127.0.0.1:{port}/hub_test"


def start_redis(tmp: Path) -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        raise FileNotFoundError("redis-server not found")
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp), "--logfile", str(tmp / "redis.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )

    def stop() -> None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()

    SERVICES.cleanups.append(stop)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return f"redis://127.0.0.1:{port}/0"
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"redis-server exited ({process.returncode}); see {tmp / 'redis.log'}") from None
        time.sleep(0.1)
    raise RuntimeError("redis-server did not answer PING within 30 s")


def _start(name: str, variable: str, starter) -> None:
    tmp = Path(tempfile.mkdtemp(prefix=f"hub-test-{name}-"))
    tmp.chmod(0o755)  # its unix socket and data are reached by the user PostgreSQL runs as
    SERVICES.cleanups.append(lambda: shutil.rmtree(tmp, ignore_errors=True))
    try:
        os.environ[variable] = url = starter(tmp)
    except FileNotFoundError as exc:
        SERVICES.missing[name] = f"{exc}: {INSTALL[name]}"
    except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or ""
        SERVICES.missing[name] = f"could not start a throwaway {name}: {exc} {detail.strip()[-500:]}"
    else:
        SERVICES.started[name] = f"{variable}={url} (throwaway, in {tmp})"


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args) -> None:
    if os.environ.get("HUB_TEST_SERVICES", "1").lower() in {"0", "false", "no"}:
        return
    early_config.add_cleanup(SERVICES.stop)
    if not os.environ.get("DATABASE_URL"):
        _start("postgres", "DATABASE_URL", start_postgres)
    if not os.environ.get("REDIS_URL"):
        _start("redis", "REDIS_URL", start_redis)


def missing_reason(name: str) -> str | None:
    """Why the tests needing ``name`` ('postgres' / 'redis') skip, if this run could not start it."""
    return SERVICES.missing.get(name)


def pytest_terminal_summary(terminalreporter) -> None:
    if not (SERVICES.started or SERVICES.missing):
        return
    terminalreporter.section("test services")
    for name, what in SERVICES.started.items():
        terminalreporter.write_line(f"{name}: {what}")
    for name, why in SERVICES.missing.items():
        terminalreporter.write_line(f"{name}: NOT AVAILABLE, its tests were skipped. {why}", yellow=True)
