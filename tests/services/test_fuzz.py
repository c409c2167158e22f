"""Random JSON at every hub POST route: a 2xx or a 4xx in the envelope, never a 500."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

pytestmark = [pytest.mark.postgres]

ROUTES = ["test/notification", "test/event", "test/file", "test/sync", "initialize", "shutdown"]
SCALARS = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(max_size=30))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10),
                                                                                        inner, max_size=4),
                    max_leaves=12)
KEYS = st.sampled_from(["channel", "to", "recipients", "template", "context", "idempotency_key", "message",
                        "name", "content", "content_base64", "content_type", "kind", "integration", "streams",
                        "full"])
BODIES = JSON | st.dictionaries(KEYS, JSON, max_size=6)


# A fixed seed, as tests/test_api_fuzz.py: the same bodies every run; FUZZ_SEED / FUZZ_MAX_EXAMPLES vary it.
@pytest.mark.parametrize("route", ROUTES)
@seed(int(os.environ.get("FUZZ_SEED", "1313")))
@settings(max_examples=int(os.environ.get("FUZZ_MAX_EXAMPLES", "40")), deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=BODIES)
def test_no_input_is_a_server_error(route, body, org, api, settings_files):
    resp = api.post(f"/api/integrations/{route}", body, format="json")
    assert resp.status_code < 500, (resp.status_code, resp.content[:300])
    assert resp.json()["success"] is (resp.status_code < 400)


@pytest.fixture
def settings_files(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "hub_files": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}}}
