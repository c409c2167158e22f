"""Every sync job gives its provider token back at the end, also when it fails (licence seats).

A registered test connector (no HTTP) hands out numbered tokens and records what it gets back;
jobs run in this process through the real runner, on PostgreSQL.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from connectors import registry
from connectors.base import Connector, Page, RecordRow, Stream, SyncContext
from connectors.errors import FatalError
from integrations.models import Integration
from syncjobs.models import JobStatus
from syncjobs.runner import run_job
from syncjobs.services import start_sync

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

RELEASED: list[str] = []
ISSUED = itertools.count(1)


class SeatStream(Stream):
    """Reads one page, then behaves as the integration's config says (``then``)."""

    name = "things"
    model = "records.Customer"

    def read(self, ctx: SyncContext, cursor: dict[str, Any] | None, full: bool) -> Iterator[Page]:
        ctx.http.token()  # a job that called its provider holds a token
        yield Page(records=[{"id": "c1", "name": "One"}], cursor={"page": 1})
        then = ctx.config.get("then")
        if then == "provider_error":
            raise FatalError("the provider refused page 2")
        if then == "crash":
            raise RuntimeError("a bug in the connector")

    def map(self, raw: dict[str, Any]) -> RecordRow:
        return RecordRow(raw["id"], {"name": raw["name"]}, payload=raw)


class SeatConnector(Connector):
    provider = "test-seats"
    display_name = "Seats"
    streams = {"things": SeatStream()}

    def obtain_token(self) -> dict[str, Any]:
        return {"access_token": f"seat-{next(ISSUED)}", "expires_at": None}

    def release_token(self, token: dict[str, Any]) -> None:
        if (self.integration.config or {}).get("logout_fails"):
            raise FatalError("logout refused")
        RELEASED.append(token["access_token"])


class PlainConnector(SeatConnector):
    """Tokens without seats: nothing to give back, the token stays cached for the next job."""

    provider = "test-plain"
    release_token = Connector.release_token


@pytest.fixture(autouse=True)
def _registered(monkeypatch):
    monkeypatch.setitem(registry._REGISTRY, SeatConnector.provider, SeatConnector)
    monkeypatch.setitem(registry._REGISTRY, PlainConnector.provider, PlainConnector)
    RELEASED.clear()


def make(org, provider: str = SeatConnector.provider, **config: Any) -> Integration:
    return Integration.objects.create(organization=org, name=provider, code=provider, provider=provider,
                                      credentials={"login": "x"}, config=config)


def run(integration: Integration):
    job = start_sync(integration, streams=["things"])[0]
    run_job(job.pk)
    job.refresh_from_db()
    integration.refresh_from_db()
    return job


@pytest.mark.parametrize("then, status", [(None, JobStatus.COMPLETED), ("provider_error", JobStatus.FAILED),
                                          ("crash", JobStatus.FAILED)])
def test_token_released_and_forgotten_however_the_job_ends(org, then, status):
    integration = make(org, then=then)

    job = run(integration)

    assert job.status == status
    assert len(RELEASED) == 1 and RELEASED[0].startswith("seat-")
    assert integration.token_cache == {}


def test_each_job_releases_its_own_token(org):
    integration = make(org)

    for _ in range(3):
        run(integration)

    assert len(RELEASED) == len(set(RELEASED)) == 3
    assert integration.token_cache == {}


def test_a_refused_logout_does_not_change_the_outcome_and_the_token_is_forgotten(org):
    integration = make(org, logout_fails=True)

    job = run(integration)

    assert job.status == JobStatus.COMPLETED and RELEASED == []
    assert integration.token_cache == {}


def test_connectors_without_release_keep_their_token(org):
    integration = make(org, provider=PlainConnector.provider)

    run(integration)
    first = integration.token_cache["access_token"]
    run(integration)

    assert integration.token_cache["access_token"] == first and RELEASED == []


def test_release_without_a_cached_token_calls_nothing(org):
    integration = make(org)

    SeatConnector(integration).http.release()

    assert RELEASED == [] and integration.token_cache == {}
