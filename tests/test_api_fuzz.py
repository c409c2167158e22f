"""Property-based fuzzing of every /api/v1/ operation against our own OpenAPI schema (schemathesis).

The schema is the one the app serves at /api/schema/; requests go through the WSGI app in-process
(no server, no network). Each operation is one pytest item with its own freshly seeded organization:
an admin API key, an integration of provider "demo" and one of provider "webhook", sync jobs, webhook
events, a log entry, a credential audit and one record of each type. Path ids are drawn both from
what the fuzzer generates and from the seeded objects, so detail routes and actions reach real rows.
Positive and negative inputs, a bounded number per operation, from a fixed seed (the same cases each
run). Every phase schemathesis has runs: the schema's examples, coverage (boundary and invalid values of
each parameter, e.g. ``limit=1144955358052653``), fuzzing, and stateful (``test_api_stateful``: chains of
calls following the links schemathesis infers, e.g. create an integration, then read, update, sync it).
The terminal summary gives the number of cases per phase and of server errors.

Checks: no 5xx; documented answers match the schema and its content type; every 4xx is JSON in the
error envelope {"error": {"code", "message", "details"}}.

No operation is excluded. None calls out of the machine: ``POST .../test`` and ``.../sync`` only queue
(no worker runs; eager mode is forced off, and what was queued is purged). The test's ``?wait`` is
capped to a fraction of a second so the fuzzer cannot hold each request for 20 s. Deleting a seeded
row is allowed: later cases of that operation then get 404s.

    DATABASE_URL=postgres://... REDIS_URL=redis://... pytest tests/test_api_fuzz.py
    FUZZ_MAX_EXAMPLES=200 FUZZ_SEED=7 pytest tests/test_api_fuzz.py    # deeper, or another seed
"""

from __future__ import annotations

import itertools
import os
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import TestPhase
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from config.wsgi import application
from tests.integrations.conftest import integration_payload

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "40"))
SEED = int(os.environ.get("FUZZ_SEED", "1313"))
STATEFUL_EXAMPLES = int(os.environ.get("FUZZ_STATEFUL_EXAMPLES", "30"))
# Cases sent, by phase, and server errors among them (a server error also fails its test).
TALLY: Counter[str] = Counter()


@schemathesis.check
def error_envelope(ctx, response, case) -> None:
    """Every 4xx/5xx answer of the API is JSON in the one envelope: {"error": {"code", "message", "details"}}."""
    if response.status_code < 400:
        return
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        raise AssertionError(f"{response.status_code} is not in the error envelope: {response.text[:300]!r}") from None
    if not (
        isinstance(error, dict) and isinstance(error.get("code"), str) and error["code"]
        and isinstance(error.get("message"), str) and isinstance(error.get("details"), dict | list)
    ):
        raise AssertionError(f"malformed error envelope: {error!r}")


CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance, error_envelope]

schema = schemathesis.openapi.from_wsgi("/api/schema/", application).include(path_regex=r"^/api/v1/")
schema.config.seed = SEED  # a fixed seed (schemathesis derives one per operation from it)

# Ids of the objects seeded for the running test, by the first segment of the path under /api/v1/.
SEEDED: dict[str, Any] = {}


def _targets(path: str) -> list[Any]:
    seeded = SEEDED.get(path.removeprefix("/api/v1/").split("/", 1)[0])
    return [] if seeded is None else seeded if isinstance(seeded, list) else [seeded]


@schema.hook
def flatmap_path_parameters(context, path_parameters: dict[str, Any]):
    """Fuzzing: most of the time, point the path at a seeded object of the right kind, not a random id."""
    targets = _targets(context.operation.path)
    if not targets or not path_parameters:
        return st.just(path_parameters)
    name = "code" if "code" in path_parameters else "id"
    return st.sampled_from([path_parameters, *({**path_parameters, name: value} for value in targets)])


@schema.hook
def flatmap_body(context, body: Any):
    """Integration bodies: also try the registered providers, so valid creates and updates happen too."""
    operation = context.operation
    if operation.path.startswith("/api/v1/integrations/") and isinstance(body, dict) and "provider" in body:
        return st.sampled_from([body, {**body, "provider": "webhook"}, {**body, "provider": "demo"}])
    return st.just(body)


_aimed = itertools.count()


def _aim_coverage_case(case) -> None:
    """Coverage-phase cases do not pass through the hooks above: unless the path value is what a case
    tests, send it to a seeded object, so its query and body reach the view instead of a 404."""
    meta = case.meta
    if not case.path_parameters or meta is None or meta.phase.name != TestPhase.COVERAGE:
        return
    if meta.phase.data.parameter_location == ParameterLocation.PATH:
        return
    targets = _targets(case.operation.path)
    if targets:
        name = "code" if "code" in case.path_parameters else "id"
        case.path_parameters = {**case.path_parameters, name: targets[next(_aimed) % len(targets)]}


def _seed(org, api) -> None:
    from integrations.models import ApiKey, CredentialAudit, IntegrationLog
    from records import models as rm
    from syncjobs.models import JobStatus, SyncJob
    from webhooks.models import EventStatus, WebhookEvent

    demo = api.post("/api/v1/integrations/", integration_payload(), format="json")
    hook = api.post(
        "/api/v1/integrations/",
        integration_payload(
            name="Hooks", code="hooks", type="webhook", provider="webhook", base_url="", credentials={},
            config={"signature_scheme": "hmac-sha256-hex", "signature_header": "X-Signature"},
        ),
        format="json",
    )
    assert demo.status_code == 201 and hook.status_code == 201, (demo.content, hook.content)
    demo_id, hook_id = demo.json()["id"], hook.json()["id"]
    spare_key, _ = ApiKey.issue(org, name="spare", role="viewer")  # revoke/delete this one, not ours
    now = timezone.now()
    done = SyncJob.objects.create(
        organization=org, integration_id=demo_id, stream="products", status=JobStatus.COMPLETED,
        started_at=now, completed_at=now, records_processed=3,
    )
    pending = SyncJob.objects.create(organization=org, integration_id=demo_id, stream="orders")
    event = WebhookEvent.objects.create(
        organization=org, integration_id=hook_id, provider="webhook", event_id="evt-1", event_type="order.created",
        body=b'{"id": "evt-1"}', content_type="application/json", status=EventStatus.FAILED, attempts=5,
    )
    binary = WebhookEvent.objects.create(
        organization=org, integration_id=hook_id, provider="webhook", body=b"\xff\xfe", status=EventStatus.COMPLETED,
    )
    log = IntegrationLog.objects.create(
        organization=org, integration_id=demo_id, action="products.list", method="GET", endpoint="/products",
        status_code=200, duration_ms=12, sync_job_id=done.pk,
    )
    ref = {"organization": org, "integration_id": demo_id, "last_synced_at": now}
    location = rm.Location.objects.create(**ref, external_id="L1", name="Main store")
    category = rm.Category.objects.create(**ref, external_id="C1", name="Drinks")
    product = rm.Product.objects.create(
        **ref, external_id="P1", name="Cola", sku="COLA", category=category, price=Decimal("1.50"), currency="EUR",
    )
    stock = rm.StockLevel.objects.create(**ref, external_id="S1", product=product, location=location, quantity=7)
    customer = rm.Customer.objects.create(**ref, external_id="CU1", name="Ann", email="ann@example.com")
    supplier = rm.Supplier.objects.create(**ref, external_id="SU1", name="Bottlers Ltd")
    order = rm.Order.objects.create(
        **ref, external_id="O1", number="1001", customer=customer, location=location, total=Decimal("3.00"),
        ordered_at=now,
    )
    rm.OrderLine.objects.create(**ref, external_id="O1-1", order=order, product=product, quantity=2)
    invoice = rm.Invoice.objects.create(**ref, external_id="I1", number="INV-1", order=order, supplier=supplier)
    rm.InvoiceLine.objects.create(**ref, external_id="I1-1", invoice=invoice, product=product, quantity=2)
    payment = rm.Payment.objects.create(**ref, external_id="PAY1", amount=Decimal("3.00"), order=order, paid_at=now)
    audit = CredentialAudit.objects.filter(integration_id=demo_id).first()  # written by the create above

    SEEDED.update({
        "integrations": [demo_id, hook_id],
        "providers": ["demo", "webhook"],
        "api-keys": spare_key.pk,
        "sync-jobs": [done.pk, pending.pk],
        "webhooks": [event.pk, binary.pk],
        "integration-logs": log.pk,
        "credential-audits": audit.pk,
        "locations": location.pk, "categories": category.pk, "products": product.pk, "stock-levels": stock.pk,
        "customers": customer.pk, "suppliers": supplier.pk, "orders": order.pk, "invoices": invoice.pk,
        "payment-records": payment.pk,
    })


@pytest.fixture
def fuzz_auth(org, api_client_for, monkeypatch) -> dict[str, str]:
    """Seed the organization; answer the admin key's Authorization header."""
    from celery import current_app

    from integrations.models import ApiKey
    from integrations_api import api as integrations_api

    monkeypatch.setattr(integrations_api, "MAX_TEST_WAIT_SECONDS", 0.3)
    monkeypatch.setitem(current_app.conf, "task_always_eager", False)  # eager would call the providers
    _seed(org, api_client_for(org, "admin"))
    _, raw = ApiKey.issue(org, name="fuzzer", role="admin")
    yield {"Authorization": f"Bearer {raw}"}
    SEEDED.clear()
    # Nothing consumes what the fuzzed requests queued: do not leave it for a later worker.
    with current_app.connection_for_write() as conn:
        for queue in ("default", "sync", "webhooks"):
            conn.default_channel.queue_purge(queue)


def _record(case, response, phase: str) -> None:
    TALLY[phase] += 1
    TALLY["server errors"] += response.status_code >= 500
    if os.environ.get("FUZZ_LOG"):  # one line per request, to see what the fuzzer reached
        with open(os.environ["FUZZ_LOG"], "a") as log:
            log.write(f"{phase} {case.method} {case.formatted_path} {case.query} -> {response.status_code}\n")


def summary() -> str:
    """One line for the terminal summary (tests/conftest.py prints it when this module ran)."""
    phases = ", ".join(f"{name} {count}" for name, count in sorted(TALLY.items()) if name != "server errors")
    total = sum(count for name, count in TALLY.items() if name != "server errors")
    return (f"schemathesis (seed {SEED}, max_examples {MAX_EXAMPLES}, stateful {STATEFUL_EXAMPLES}): {total} cases "
            f"({phases}); {TALLY['server errors']} server errors")


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES, deadline=None, derandomize=False, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)
def test_api_fuzz(case, fuzz_auth) -> None:
    _aim_coverage_case(case)
    response = case.call(headers=fuzz_auth)
    _record(case, response, case.meta.phase.name.value if case.meta else "examples")
    case.validate_response(response, checks=CHECKS, transport_kwargs={"headers": fuzz_auth})


class APIWorkflow(schema.as_state_machine()):
    """Stateful phase: sequences of calls along the inferred links, each response checked as above."""

    headers: dict[str, str] = {}

    def get_call_kwargs(self, case) -> dict[str, Any]:
        return {"headers": self.headers}

    def after_call(self, response, case) -> None:
        _record(case, response, "stateful")

    def validate_response(self, response, case, additional_checks=None, **kwargs) -> None:
        case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs or None)


def test_api_stateful(fuzz_auth) -> None:
    APIWorkflow.headers = fuzz_auth
    seeded = type("SeededWorkflow", (APIWorkflow,), {"_hypothesis_internal_use_seed": SEED})
    seeded.run(settings=settings(
        max_examples=STATEFUL_EXAMPLES, stateful_step_count=6, deadline=None, derandomize=False, database=None,
        suppress_health_check=list(HealthCheck),
    ))
