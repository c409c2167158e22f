"""The Demo Store sandbox over real HTTP (live_server): auth, pagination, increments, deletions, faults."""

from __future__ import annotations

import time

import pytest
import requests

from connectors.errors import AuthError, FatalError, RateLimitedError, TransientError
from integrations.models import IntegrationLog
from sandboxes.demo.dataset import account_secret

pytestmark = pytest.mark.django_db


def get_token(base: str, client_id: str, secret: str | None = None) -> requests.Response:
    return requests.post(f"{base}/oauth/token", timeout=10, data={
        "grant_type": "client_credentials", "client_id": client_id,
        "client_secret": account_secret(client_id) if secret is None else secret})


def test_token_endpoint_checks_the_client_secret(sandbox):
    ok = get_token(sandbox.base, "shop-1")
    assert ok.status_code == 200
    assert ok.json()["token_type"] == "Bearer" and ok.json()["expires_in"] == 3600

    wrong = get_token(sandbox.base, "shop-1", secret="shop-2-secret")
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"

    grant = requests.post(f"{sandbox.base}/oauth/token", data={"grant_type": "password"}, timeout=10)
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"


def test_api_needs_a_valid_unexpired_bearer_token(sandbox):
    token = get_token(sandbox.base, "shop-1").json()["access_token"]
    url = f"{sandbox.base}/api/products"

    assert requests.get(url, timeout=10).status_code == 401
    assert requests.get(url, headers={"Authorization": f"Bearer {token}x"}, timeout=10).status_code == 401
    assert requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200

    sandbox.control("shop-1", "expire_tokens")
    expired = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert expired.status_code == 401 and expired.json()["error"] == "invalid_token"


def test_data_is_deterministic_per_account_and_page_size_is_capped(demo, sandbox):
    one, other = demo("det-one"), demo("det-other")
    page = one.http.get_json("api/products", action="t", params={"page_size": 500})
    sandbox.control("det-one", "reset")  # state dropped: the data is regenerated from the seed
    again = one.http.get_json("api/products", action="t", params={"page_size": 500})
    theirs = other.http.get_json("api/products", action="t", params={"page_size": 5})

    assert len(page["data"]) == 100 and page["page_size"] == 100 and page["next_cursor"]
    assert page["data"] == again["data"]
    assert [p["name"] for p in theirs["data"]] != [p["name"] for p in page["data"][:5]]


def read_all(connector, stream_name, cursor=None, full=False):
    from connectors.base import SyncContext

    ctx = SyncContext(integration=connector.integration, connector=connector, http=connector.http)
    return list(connector.streams[stream_name].read(ctx, cursor, full))


SIZES = {"locations": 3, "categories": 7, "products": 23, "customers": 11, "orders": 12}
EXPECTED = {"locations": 3, "categories": 7, "products": 23, "stock-levels": 23 * 3, "customers": 11, "orders": 12}


@pytest.mark.parametrize("stream", list(EXPECTED))
def test_each_stream_paginates_fully(demo, stream):
    connector = demo(sizes=SIZES)

    pages = read_all(connector, stream, full=True)

    ids = [r["id"] for p in pages for r in p.records]
    assert len(ids) == len(set(ids)) == EXPECTED[stream]
    assert len(pages) == -(-EXPECTED[stream] // 10)  # page_size 10
    calls = IntegrationLog.objects.filter(integration=connector.integration, action=f"demo.{stream}.list").count()
    assert calls == len(pages)
    for row in (connector.streams[stream].map(r) for p in pages for r in p.records):
        assert row.external_id and row.fields


def test_incremental_returns_only_changes_and_lists_deletions(demo, sandbox):
    connector = demo(sizes=SIZES)
    full = read_all(connector, "products", full=True)
    cursor = full[-1].cursor
    assert cursor["last_id"] == 23

    assert read_all(connector, "products", cursor) == []  # nothing changed: nothing read

    updated = sandbox.control(connector.client_id, "update", entity="products", ids=[3, 17, 5])["updated"]
    deleted = sandbox.control(connector.client_id, "delete", entity="products", count=2)["deleted"]
    pages = read_all(connector, "products", cursor)

    records = [r for p in pages for r in p.records]
    assert [r["id"] for r in records] == updated == [3, 17, 5]  # in the order they changed
    assert all("(v2)" in r["name"] for r in records)
    assert sorted(int(i) for p in pages for i in p.deleted_ids) == sorted(deleted) == [22, 23]
    new_cursor = pages[-1].cursor
    assert new_cursor["last_id"] == 5 and new_cursor["updated_since"] > cursor["updated_since"]

    assert read_all(connector, "products", new_cursor) == []  # neither changes nor deletions again
    stock_deleted = [i for p in read_all(connector, "stock-levels", full=True) for i in p.deleted_ids]
    assert sorted(stock_deleted) == ["22001", "22002", "22003", "23001", "23002", "23003"]


def test_a_resumed_read_continues_after_its_checkpoint(demo):
    connector = demo(sizes=SIZES)
    pages = read_all(connector, "customers", full=True)

    resumed = read_all(connector, "customers", pages[0].cursor)  # the run died after page 1

    assert [r["id"] for p in resumed for r in p.records] == [11]


def test_growing_the_account_shows_new_records_incrementally(demo, sandbox):
    connector = demo(sizes=SIZES)
    cursor = read_all(connector, "categories", full=True)[-1].cursor

    sandbox.control(connector.client_id, "set_sizes", sizes={"categories": 9})

    assert [r["id"] for p in read_all(connector, "categories", cursor) for r in p.records] == [8, 9]


def test_large_accounts_cost_nothing_to_keep(demo, sandbox):
    connector = demo(sizes={"products": 20_000})

    page = connector.http.get_json("api/products", action="t", params={"page_size": 100, "updated_since":
                                                                       "2025-01-01T00:00:00.019950Z"})

    assert [p["id"] for p in page["data"]] == list(range(19_950, 20_001))
    assert len(str(sandbox.control(connector.client_id, "stats"))) < 500


def test_injected_500_is_retried_transparently(demo, sandbox):
    connector = demo(sizes=SIZES)
    connector.http.token()
    sandbox.control(connector.client_id, "fault", kind="status", status=500, count=2)

    body = connector.http.get_json("api/locations", action="demo.locations.list")

    assert len(body["data"]) == 3
    statuses = list(IntegrationLog.objects.filter(integration=connector.integration, action="demo.locations.list")
                    .order_by("id").values_list("status_code", flat=True))
    assert statuses == [500, 500, 200]


def test_nth_request_fails(demo, sandbox):
    connector = demo(sizes=SIZES)
    connector.http.token()
    sandbox.control(connector.client_id, "fault", kind="status", status=500, after=2, count=4)

    connector.http.get_json("api/locations", action="ok")
    connector.http.get_json("api/locations", action="ok")
    with pytest.raises(TransientError):
        connector.http.get_json("api/locations", action="third")  # 3rd + 3 retries = requests 3..6

    assert connector.http.get_json("api/locations", action="ok")["data"]


def test_429_with_retry_after_from_the_sandbox(demo, sandbox, settings):
    connector = demo(sizes=SIZES)
    connector.http.token()
    sandbox.control(connector.client_id, "fault", kind="rate_limit", retry_after=1)

    started = time.monotonic()
    connector.http.get_json("api/locations", action="t")
    assert time.monotonic() - started >= 0.95

    settings.CONNECTOR_HTTP_RETRY_AFTER_MAX = 0.5
    sandbox.control(connector.client_id, "fault", kind="rate_limit", retry_after=30)
    with pytest.raises(RateLimitedError) as exc:
        connector.http.get_json("api/locations", action="t")
    assert exc.value.retry_after == 30


def test_a_hanging_request_times_out_and_is_retried(demo, sandbox):
    connector = demo(sizes=SIZES)
    connector.http.token()
    sandbox.control(connector.client_id, "fault", kind="hang", seconds=1.5)

    body = connector.http.get_json("api/locations", action="t", timeout=0.5)

    assert len(body["data"]) == 3


def test_expired_tokens_are_renewed_once(demo, sandbox):
    connector = demo(sizes=SIZES)
    connector.http.get_json("api/locations", action="t")
    sandbox.control(connector.client_id, "expire_tokens")

    connector.http.get_json("api/locations", action="t")

    assert sandbox.control(connector.client_id, "stats")["token_requests"] == 2


def test_wrong_secret_is_an_auth_error(demo):
    connector = demo()
    connector.integration.credentials = {"client_id": connector.client_id, "client_secret": "not-the-secret"}

    with pytest.raises(AuthError, match="invalid_client"):
        connector.test_connection()


def test_control_needs_the_account_secret(sandbox):
    resp = requests.post(f"{sandbox.base}/_control", json={"client_id": "x", "client_secret": "y",
                                                           "action": "stats"}, timeout=10)
    assert resp.status_code == 401


def test_bad_parameters_are_400(demo):
    connector = demo()
    with pytest.raises(FatalError) as exc:
        connector.http.get_json("api/products", action="t", params={"updated_since": "yesterday"})
    assert exc.value.status_code == 400


def test_control_is_off_outside_debug_and_tests(sandbox, settings):
    settings.DEBUG, settings.TESTING = False, False
    resp = requests.post(f"{sandbox.base}/_control", timeout=10, json={
        "client_id": "x", "client_secret": account_secret("x"), "action": "stats"})
    assert resp.status_code == 404


@pytest.mark.redis
def test_state_is_shared_by_every_process_serving_the_sandbox(sandbox, settings, tmp_path):
    """A second server process (the standalone sandbox) sees the same accounts, tokens and changes."""
    import os
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "REDIS_URL": settings.REDIS_URL, "SECRET_KEY": settings.SECRET_KEY, "DEBUG": "true"}
    log = (tmp_path / "sandbox.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "sandboxes.demo.sandbox", "--port", str(port)], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    other = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{other}/api/products", timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, (tmp_path / "sandbox.log").read_text()
                time.sleep(0.2)
        sandbox.control("shared", "set_sizes", sizes={"products": 3})
        sandbox.control("shared", "update", entity="products", ids=[2], fields={"name": "Seen everywhere"})
        token = get_token(sandbox.base, "shared").json()["access_token"]

        resp = requests.get(f"{other}/api/products", headers={"Authorization": f"Bearer {token}"}, timeout=10)

        assert resp.status_code == 200
        assert [p["name"] for p in resp.json()["data"]][1] == "Seen everywhere" and len(resp.json()["data"]) == 3
    finally:
        proc.terminate()
        proc.wait(10)


def test_forged_cursors_are_400(demo):
    import base64

    connector = demo()
    for cursor in ("not-base64!", base64.urlsafe_b64encode(b'{"k": ["a"]}').decode(),
                   base64.urlsafe_b64encode(b'{"k": ["x", "y"]}').decode()):
        with pytest.raises(FatalError) as exc:
            connector.http.get_json("api/products", action="t", params={"cursor": cursor})
        assert exc.value.status_code == 400, cursor
