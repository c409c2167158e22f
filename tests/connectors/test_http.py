"""The outbound HTTP client against a real (scripted) HTTP server: retries, tokens, logs, redaction."""

from __future__ import annotations

import threading
import time
from email.utils import formatdate

import pytest
from django.db import connection

from connectors.errors import AuthError, FatalError, RateLimitedError, TransientError
from connectors.http import backoff_delay, parse_retry_after
from integrations.models import Integration, IntegrationLog
from tests.connectors.conftest import CLIENT_SECRET, WEBHOOK_SECRET, ScriptedConnector
from tests.connectors.fakeserver import Answer

pytestmark = pytest.mark.django_db


def logs(integration, action=None):
    qs = IntegrationLog.objects.filter(integration=integration).order_by("id")
    return list(qs.filter(action=action) if action else qs)


def test_500_is_retried_then_succeeds(server, scripted):
    server.plan("/items", Answer(500, {"message": "boom"}), Answer(502, {"message": "bad gateway"}))

    assert scripted.http.get_json("/items", action="t.items") == {"data": [1, 2, 3]}

    assert len(server.requests_to("/items")) == 3
    rows = logs(scripted.integration, "t.items")
    assert [(r.status_code, r.level) for r in rows] == [(500, "warning"), (502, "warning"), (200, "info")]
    assert "retry 1/3" in rows[0].error_message


def test_exhausted_retries_raise_transient(server, scripted):
    server.plan("/items", *[Answer(503, {"message": "down"})] * 4)

    with pytest.raises(TransientError) as exc:
        scripted.http.get_json("/items", action="t.items")

    assert exc.value.status_code == 503 and "down" in exc.value.message
    assert len(server.requests_to("/items")) == 4  # the first try and 3 retries
    assert logs(scripted.integration, "t.items")[-1].level == "error"


def test_timeout_is_retried(server, scripted):
    server.plan("/items", Answer(200, {"late": True}, delay=1.0))

    assert scripted.http.get_json("/items", action="t.items", timeout=0.3) == {"data": [1, 2, 3]}

    rows = logs(scripted.integration, "t.items")
    assert rows[0].status_code is None and "timeout" in rows[0].error_message
    assert rows[1].status_code == 200


def test_429_retry_after_is_honoured(server, scripted):
    server.plan("/items", Answer(429, {"message": "slow down"}, headers={"Retry-After": "1"}))

    started = time.monotonic()
    scripted.http.get_json("/items", action="t.items")

    assert time.monotonic() - started >= 0.95
    assert len(server.requests_to("/items")) == 2


def test_429_beyond_the_cap_raises_at_once_with_retry_after(server, scripted, settings):
    settings.CONNECTOR_HTTP_RETRY_AFTER_MAX = 5
    server.plan("/items", Answer(429, {"message": "come back later"}, headers={"Retry-After": "120"}))

    with pytest.raises(RateLimitedError) as exc:
        scripted.http.get_json("/items", action="t.items")

    assert exc.value.retry_after == 120
    assert len(server.requests_to("/items")) == 1


def test_retry_after_as_seconds_or_http_date():
    now = time.time()
    assert parse_retry_after("7") == 7
    assert 28 <= parse_retry_after(formatdate(now + 30, usegmt=True), now=now) <= 30
    assert parse_retry_after(formatdate(now - 30, usegmt=True), now=now) == 0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_backoff_is_the_hubs_policy_jittered_and_capped(settings):
    settings.CONNECTOR_HTTP_BACKOFF_BASE = 1.0
    settings.CONNECTOR_HTTP_BACKOFF_MAX = 4.0
    delays = [backoff_delay(10) for _ in range(200)]
    assert all(2.0 <= d <= 4.0 for d in delays)  # capped, and at least half the step
    assert min(delays) < 3.0 < max(delays)  # spread over the window, not a fixed step
    assert all(0.5 <= backoff_delay(0) <= 1.0 for _ in range(50))  # the first retry waits about one base


def test_post_is_not_retried_after_a_500(server, scripted):
    server.plan("/orders", Answer(500, {"message": "maybe written"}))
    server.defaults["/orders"] = Answer(201, {"id": 1})

    with pytest.raises(TransientError):
        scripted.http.post_json("/orders", action="t.create", json={"n": 1})

    assert len(server.requests_to("/orders")) == 1  # never risk a double write


def test_post_is_retried_on_429_and_503(server, scripted):
    server.plan("/orders", Answer(503, {"message": "not now"}), Answer(429, {}, headers={"Retry-After": "0"}))
    server.defaults["/orders"] = Answer(201, {"id": 1})

    assert scripted.http.post_json("/orders", action="t.create", json={"n": 1}) == {"id": 1}
    assert len(server.requests_to("/orders")) == 3


def test_post_is_not_retried_after_a_read_timeout(server, scripted):
    server.plan("/orders", Answer(201, {"id": 1}, delay=1.0))

    with pytest.raises(TransientError):
        scripted.http.post_json("/orders", action="t.create", json={"n": 1}, timeout=0.3)

    time.sleep(0.8)
    assert len(server.requests_to("/orders")) == 1


def test_post_is_retried_when_the_connection_was_refused(make_integration):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    connector = ScriptedConnector(make_integration(f"http://127.0.0.1:{port}"))

    with pytest.raises(TransientError) as exc:
        connector.http.request("POST", "/orders", action="t.create", json={}, auth=False)

    assert "connection error" in exc.value.message
    assert len(logs(connector.integration, "t.create")) == 4  # it surely never reached a server


def test_other_4xx_is_fatal_with_the_providers_message(server, scripted):
    server.plan("/items", Answer(404, {"message": "no such item"}))

    with pytest.raises(FatalError) as exc:
        scripted.http.get_json("/items", action="t.items")

    assert exc.value.status_code == 404 and "no such item" in exc.value.message
    assert len(server.requests_to("/items")) == 1


def test_token_is_obtained_once_and_reused_across_calls_and_instances(server, scripted):
    for _ in range(3):
        scripted.http.get_json("/items", action="t.items")
    fresh = ScriptedConnector(Integration.objects.get(pk=scripted.integration.pk))
    fresh.http.get_json("/items", action="t.items")

    assert len(server.requests_to("/token")) == 1
    auth = {s.headers["Authorization"] for s in server.requests_to("/items")}
    assert auth == {"Bearer tok-1-0123456789abcdef"}


def test_expiring_token_is_renewed_before_use(server, scripted):
    server.plan("/token", Answer(200, {"access_token": "short-lived-token", "expires_in": 30}))  # < the margin

    scripted.http.get_json("/items", action="t.items")
    scripted.http.get_json("/items", action="t.items")

    assert len(server.requests_to("/token")) == 2


def test_401_renews_the_token_exactly_once(server, scripted):
    server.plan("/items", Answer(401, {"message": "token expired"}))

    assert scripted.http.get_json("/items", action="t.items") == {"data": [1, 2, 3]}

    assert len(server.requests_to("/token")) == 2
    tokens = [s.headers["Authorization"] for s in server.requests_to("/items")]
    assert tokens == ["Bearer tok-1-0123456789abcdef", "Bearer tok-2-0123456789abcdef"]
    stored = Integration.objects.get(pk=scripted.integration.pk).token_cache
    assert stored["access_token"] == "tok-2-0123456789abcdef"


def test_401_after_renewal_is_an_auth_error(server, scripted):
    server.plan("/items", Answer(401, {"message": "nope"}), Answer(401, {"message": "still nope"}))

    with pytest.raises(AuthError):
        scripted.http.get_json("/items", action="t.items")

    assert len(server.requests_to("/token")) == 2
    assert len(server.requests_to("/items")) == 2


def test_refused_credentials_at_the_token_endpoint_are_an_auth_error(server, scripted):
    server.plan("/token", Answer(401, {"error": "invalid_client"}))

    with pytest.raises(AuthError, match="invalid_client"):
        scripted.http.get_json("/items", action="t.items")

    assert server.requests_to("/items") == []
    # The refused token request stays in the log although the renewal's transaction rolled back.
    [entry] = logs(scripted.integration, "scripted.token")
    assert entry.status_code == 401 and entry.level == "error" and CLIENT_SECRET not in entry.request_excerpt


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_threads_renewing_at_once_make_one_token_request(server, make_integration):
    integration = make_integration(server.url)
    server.defaults["/token"] = Answer(200, server.new_token, delay=0.5)  # both threads arrive meanwhile
    barrier = threading.Barrier(2)
    tokens, errors = [], []

    def worker():
        try:
            connector = ScriptedConnector(Integration.objects.get(pk=integration.pk))  # each worker loads its own
            barrier.wait()
            connector.http.get_json("/items", action="t.items")
            tokens.append(connector.integration.token_cache["access_token"])
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    assert errors == []
    assert len(server.requests_to("/token")) == 1
    assert tokens == ["tok-1-0123456789abcdef"] * 2


def test_log_rows_carry_the_call_and_no_secret(server, scripted):
    scripted.integration.credentials["api_key"] = "ak-another-secret-99"
    server.plan("/items", Answer(400, {"message": f"client_secret {CLIENT_SECRET} is not allowed here"}))
    scripted.http.sync_job_id = 4242

    with pytest.raises(FatalError) as exc:
        scripted.http.get_json("/items", action="t.items", params={"api_key": "ak-another-secret-99", "q": "x"})
    server.defaults["/search"] = Answer(200, {"echo": "tok-1-0123456789abcdef", "ok": 1})
    scripted.http.request("POST", "/search", action="t.search", data={"password": "hunter2-pw", "q": "a"},
                          idempotent=True)

    secrets = [CLIENT_SECRET, "ak-another-secret-99", "tok-1-0123456789abcdef", WEBHOOK_SECRET, "hunter2-pw"]
    assert CLIENT_SECRET not in exc.value.message
    rows = logs(scripted.integration)
    assert {r.action for r in rows} == {"scripted.token", "t.items", "t.search"}
    for row in rows:
        text = " ".join(str(getattr(row, f.attname)) for f in IntegrationLog._meta.concrete_fields)
        for secret in secrets:
            assert secret not in text, (row.action, secret)
    items = next(r for r in rows if r.action == "t.items")
    assert items.direction == "outbound" and items.method == "GET" and items.status_code == 400
    assert items.endpoint.startswith(server.url + "/items?") and "q=x" in items.endpoint
    assert items.duration_ms is not None and items.sync_job_id == 4242
    assert items.organization_id == scripted.integration.organization_id and items.level == "error"
    token = next(r for r in rows if r.action == "scripted.token")
    assert "client_secret" in token.request_excerpt and "acme-client" not in token.request_excerpt


@pytest.mark.redis
def test_rate_budget_is_shared_through_redis(settings):
    from connectors import ratelimit

    key = f"test:{time.time_ns()}"
    first, second = ratelimit.RedisBucket(settings.REDIS_URL), ratelimit.RedisBucket(settings.REDIS_URL)
    for bucket in (first, second, first, second, first):  # two "workers" spend one budget of 5
        assert bucket.take(key, 5, 10.0) == 0
    wait = second.take(key, 5, 10.0)
    assert 1.5 < wait <= 2.0  # one token refills every 2 s

    with pytest.raises(RateLimitedError) as exc:
        ratelimit.acquire(key, (5, 10.0), max_wait=0.5)
    assert exc.value.retry_after > 1.5


@pytest.mark.redis
def test_requests_wait_for_the_shared_budget(server, make_integration):
    integration = make_integration(server.url)
    # Two workers, one integration: one budget.
    one, two = (ScriptedConnector(Integration.objects.get(pk=integration.pk)) for _ in range(2))
    for c in (one, two):
        c.rate_limit = (4, 1.0)

    started = time.monotonic()
    one.http.get_json("/items", action="t.items")  # the token request and this one
    for _ in range(3):
        one.http.get_json("/items", action="t.items", auth=False)
        two.http.get_json("/items", action="t.items", auth=False)

    # 8 requests from a full bucket of 4 refilling 4 per second: at least 4 refills, 1 s.
    assert time.monotonic() - started >= 0.98
    assert len(server.seen) == 8


def test_cache_bucket_without_redis(settings):
    from connectors import ratelimit

    settings.REDIS_URL = ""
    key = f"local:{time.time_ns()}"
    assert isinstance(ratelimit.get_bucket(), ratelimit.CacheBucket)
    assert ratelimit.acquire(key, (2, 1.0)) == 0 and ratelimit.acquire(key, (2, 1.0)) == 0
    waited = ratelimit.acquire(key, (2, 1.0))
    assert 0.1 < waited <= 0.55
    with pytest.raises(RateLimitedError):
        ratelimit.acquire(key, (2, 1.0), max_wait=0.1)


def test_a_bad_base_url_is_a_config_error(make_integration):
    from connectors.errors import ConfigError

    connector = ScriptedConnector(make_integration("not a url"))

    with pytest.raises(ConfigError):
        connector.http.get_json("items", action="t.items", auth=False)

    assert logs(connector.integration, "t.items")[0].level == "error"


@pytest.mark.django_db(transaction=True)  # batching is for calls outside a transaction (a sync's reader)
def test_a_syncs_successful_calls_are_logged_in_batches_in_call_order(server, scripted):
    from connectors.http import LOG_BATCH

    scripted.http.sync_job_id = 77
    for _ in range(LOG_BATCH - 1):
        scripted.http.get_json("/items", action="t.items")
    assert logs(scripted.integration, "t.items") == []  # held: one insert for the batch, not one per call

    server.plan("/items", Answer(500, {"message": "boom"}))
    scripted.http.get_json("/items", action="t.items")  # a warning is written at once, after what was held
    rows = logs(scripted.integration, "t.items")
    assert [r.level for r in rows] == ["info"] * (LOG_BATCH - 1) + ["warning"]
    assert all(r.sync_job_id == 77 for r in rows)

    scripted.http.flush_logs()  # the runner's call when the job ends
    assert [r.level for r in logs(scripted.integration, "t.items")][-2:] == ["warning", "info"]
    times = [r.created_at for r in logs(scripted.integration, "t.items")]
    assert times == sorted(times)  # stamped when the call was made, not when written
