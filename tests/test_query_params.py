"""Every query parameter of every list is validated: a bad value is a 400 in the error envelope, on
SQLite and PostgreSQL alike, never a 500 from the database. The fix lives in the shared bases
(integrations.filters.HubFilterSet / HubFilterBackend / HubOrderingFilter, integrations.pagination),
so the test walks every list route of the API rather than a chosen few."""

from __future__ import annotations

import pytest
from django.urls import get_resolver

pytestmark = pytest.mark.django_db

LISTS = ["accounts", "credential-audits", "customers", "integration-logs", "integrations", "sync-jobs", "webhooks",
         "payments", "products", "orders", "payment-records", "stock-levels", "invoices"]

# What the fuzzer found (first two) and their relatives: none of them is an id or a count.
BAD = [
    ("integration", "-2.5e+271"), ("integration", "99999999999999999999"), ("integration", "1.5"),
    ("integration", "1e400"), ("integration", "NaN"), ("limit", "abc"), ("limit", "0"), ("limit", "-5"),
    ("limit", "1.5"), ("offset", "-1"), ("offset", "1e30"), ("ordering", "no_such_field"),
]


# The integration list has no ``integration`` filter.
CASES = [(path, p, v) for path in LISTS for p, v in BAD if not (p == "integration" and path == "integrations")]


@pytest.mark.parametrize(("path", "param", "value"), CASES)
def test_bad_query_value_is_a_400_in_the_envelope(path, param, value, org, api_client_for):
    response = api_client_for(org, "admin").get(f"/api/v1/{path}/", {param: value})
    assert response.status_code == 400, (response.status_code, response.content[:300])
    error = response.json()["error"]
    assert error["code"] and param in error["details"], error


@pytest.mark.parametrize("path", ["customers", "integration-logs", "credential-audits", "accounts"])
def test_the_largest_id_is_no_match_not_an_error(path, org, api_client_for):
    response = api_client_for(org, "admin").get(f"/api/v1/{path}/", {"integration": str(2**63 - 1), "limit": 10**15})
    assert response.status_code == 200 and response.json()["results"] == []


def test_good_values_still_filter_order_and_page(org, api_client_for):
    api = api_client_for(org, "admin")
    assert api.get("/api/v1/integration-logs/", {"ordering": "-created_at", "limit": 5, "offset": 0}).status_code == 200
    assert api.get("/api/v1/integration-logs/", {"limit": ""}).status_code == 200


def test_every_list_filterset_derives_from_the_validating_base():
    from rest_framework.viewsets import GenericViewSet

    from integrations.filters import HubFilterBackend, HubFilterSet, HubOrderingFilter

    views = {getattr(p.callback, "cls", None) for p in _patterns(get_resolver())}
    checked = 0
    for view in filter(None, views):
        if not issubclass(view, GenericViewSet):
            continue
        backends = view.filter_backends
        assert all(b not in backends for b in _plain_backends()), view
        if getattr(view, "filterset_class", None):
            assert issubclass(view.filterset_class, HubFilterSet), view
            checked += 1
        if backends:
            assert HubFilterBackend in backends and HubOrderingFilter in backends, view
    assert checked >= 5


def _plain_backends():
    from django_filters.rest_framework import DjangoFilterBackend
    from rest_framework.filters import OrderingFilter

    return (DjangoFilterBackend, OrderingFilter)


def _patterns(resolver):
    for pattern in resolver.url_patterns:
        if hasattr(pattern, "url_patterns"):
            yield from _patterns(pattern)
        else:
            yield pattern
