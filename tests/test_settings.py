"""Settings come from the environment, every variable is documented, production checks are clean."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "a-production-like-secret-key-" + "x" * 40,
    "ENCRYPTION_KEYS": "k1:" + "A" * 43,
    "ALLOWED_HOSTS": "hub.example.com",
    "DATABASE_URL": "sqlite:///:memory:",
    "TESTING": "false",
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "PYTEST"))}
    clean.pop("REDIS_URL", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env},
        capture_output=True, text=True, timeout=120,
    )


def test_every_environment_variable_is_documented():
    source = (ROOT / "config" / "settings.py").read_text()
    read = set(re.findall(r"env\.\w+\(\s*\"([A-Z_]+)\"", source)) | set(re.findall(r"env\(\s*\"([A-Z_]+)\"", source))
    documented = set(re.findall(r"^#?\s*([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    internal = {"TESTING", "DJANGO_DEBUG", "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS"}  # aliases and test switch
    assert read - internal - documented == set()


def test_deploy_check_is_clean_with_production_variables():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {**PRODUCTION_ENV, "SECRET_KEY": ""}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_invalid_encryption_key_is_a_deploy_error():
    env = {**PRODUCTION_ENV, "ENCRYPTION_KEYS": "k1:too-short"}
    result = _manage("check", "--deploy", env=env)
    assert result.returncode != 0
    assert "ENCRYPTION_KEYS is invalid" in result.stdout + result.stderr


# A well-formed ring whose second key is 9 bytes: what used to pass start-up and fail at the first write.
SHORT_SECOND_KEY = "k1:" + "A" * 43 + ",k2:" + "QUFBQUFBQUFB"
START_COMMANDS = {
    "manage.py check": [sys.executable, "manage.py", "check"],
    "manage.py migrate": [sys.executable, "manage.py", "migrate", "--noinput"],
    "gunicorn": [sys.executable, "-m", "gunicorn", "config.wsgi:application", "-b", "127.0.0.1:0", "-w", "1"],
    "celery worker": [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "-l", "info"],
    "celery beat": [sys.executable, "-m", "celery", "-A", "config", "beat", "-l", "info"],
}


@pytest.mark.parametrize("name", list(START_COMMANDS))
def test_every_process_refuses_to_start_with_a_bad_encryption_key(name, tmp_path):
    """The real command, as a process: it exits at once (not after serving or consuming anything),
    and its output names the variable and what is wrong, without the key itself."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "PYTEST", "REDIS", "DATABASE"))}
    env = {**clean, "DEBUG": "true", "TESTING": "false", "ENCRYPTION_KEYS": SHORT_SECOND_KEY,
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "HUB_VAR_DIR": str(tmp_path)}
    command = START_COMMANDS[name]
    if name == "celery beat":
        command = [*command, "-s", str(tmp_path / "beat-schedule")]
    try:
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=90)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{name} started with a bad ENCRYPTION_KEYS (still running after {exc.timeout}s)")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-2000:]
    assert "ENCRYPTION_KEYS is invalid: encryption key 'k2' must be 32 bytes (AES-256), got 9" in output, output[-2000:]
    assert "QUFBQUFBQUFB" not in output
