"""syncjobs.preview on a built-in provider (the Demo Store sandbox over HTTP): deletions the page
announces, unchanged rows, and nothing written."""

from __future__ import annotations

import pytest

from records.models import Location
from syncjobs.models import SyncJob, SyncState
from syncjobs.preview import PreviewError, preview_stream
from tests.connectors.conftest import demo, fast_http, make_integration, sandbox  # noqa: F401 - fixtures
from tests.connectors.kiotviet.conftest import run_sync

pytestmark = pytest.mark.django_db


def snapshot(integ) -> tuple:
    return (list(Location.objects.filter(integration=integ).values_list("external_id", "deleted_at", "name")),
            SyncJob.objects.filter(integration=integ).count(),
            list(SyncState.objects.filter(integration=integ).values_list("cursor", "resume_cursor")))


def test_preview_lists_the_deletions_a_page_announces_and_writes_nothing(demo, sandbox):  # noqa: F811
    connector = demo(sizes={"locations": 3})
    integ = connector.integration
    run_sync(connector, ["locations"], full=True)
    before = snapshot(integ)
    result = preview_stream(integ, "locations")
    assert (result.unchanged, result.create, result.update, result.delete) == (3, [], [], [])

    sandbox.control(connector.client_id, "delete", entity="locations", ids=[1, 2, 3])
    result = preview_stream(integ, "locations").as_dict()  # no live record left: the page is the deletions
    assert result == {"stream": "locations", "model": "records.Location", "create": [], "update": [],
                      "unchanged": 0, "delete": ["1", "2", "3"], "errors": []}
    assert snapshot(integ) == before


def test_preview_of_an_unknown_stream(demo):  # noqa: F811
    with pytest.raises(PreviewError, match="unknown stream 'nope'; available: locations, categories"):
        preview_stream(demo().integration, "nope")
