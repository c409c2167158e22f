"""config.pytest_services: throwaway PostgreSQL/Redis for a run without URLs; a missing binary is named."""

from __future__ import annotations

import os
import shutil

import psycopg
import pytest
import redis

from config import pytest_services as ps


@pytest.fixture
def services(monkeypatch):
    fresh = ps.Services()
    monkeypatch.setattr(ps, "SERVICES", fresh)
    yield fresh
    fresh.stop()


@pytest.mark.skipif(ps._postgres_bindir() is None, reason="PostgreSQL server binaries are not installed")
def test_a_throwaway_postgres_starts_answers_and_is_removed(services, monkeypatch):
    monkeypatch.delenv("HUB_PG_PROBE", raising=False)
    ps._start("postgres", "HUB_PG_PROBE", ps.start_postgres)  # as root too: initdb runs as another user
    assert services.missing == {}, services.missing
    url = os.environ["HUB_PG_PROBE"]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres") as conn:
        assert conn.execute("select 1").fetchone() == (1,)
    folder = services.started["postgres"].split(" in ")[-1].rstrip(")")
    services.stop()
    assert not os.path.exists(folder)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", connect_timeout=2)


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
def test_a_throwaway_redis_starts_answers_and_is_removed(services, monkeypatch):
    monkeypatch.delenv("HUB_REDIS_PROBE", raising=False)
    ps._start("redis", "HUB_REDIS_PROBE", ps.start_redis)
    url = os.environ["HUB_REDIS_PROBE"]
    assert redis.Redis.from_url(url).ping()
    services.stop()
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()


def test_a_missing_binary_is_named_with_how_to_install_it(services, monkeypatch):
    monkeypatch.setattr(ps.shutil, "which", lambda name: None)
    monkeypatch.setattr(ps.glob, "glob", lambda pattern: [])
    monkeypatch.delenv("HUB_NOWHERE_URL", raising=False)

    ps._start("redis", "HUB_NOWHERE_URL", ps.start_redis)
    ps._start("postgres", "HUB_NOWHERE_URL", ps.start_postgres)

    assert "HUB_NOWHERE_URL" not in os.environ and services.started == {}
    assert ps.missing_reason("redis").startswith("redis-server not found: install redis-server")
    assert "initdb/pg_ctl/postgres not found" in ps.missing_reason("postgres")
    lines: list[str] = []
    reporter = type("Reporter", (), {"section": lambda self, title: lines.append(title),
                                     "write_line": lambda self, line, **kw: lines.append(line)})()
    ps.pytest_terminal_summary(reporter)
    assert lines[0] == "test services" and any("apt-get install redis-server" in line for line in lines)
