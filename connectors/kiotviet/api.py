"""The seed's KiotViet routes, as aliases of the generic API (same auth, roles, org scoping, error envelope).

``:organizationId`` is the organization's id or slug; it must be one the caller belongs to (an API
key: its own organization), else 404 - another organization's existence is not revealed. Without
it, the organization is resolved as for /api/v1/ (membership or ``X-Organization``). When an
organization has several KiotViet integrations, ``?code=`` picks one (default: the oldest).

Every provider call is queued (sync jobs, the connection test, a product push, webhook
registration); the view waits up to ``?wait=`` seconds for an outcome, as /api/v1/ does.
"""

from __future__ import annotations

import math
import time
from typing import Any

from django.db import transaction
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations.api import MAX_TEST_WAIT_SECONDS, IntegrationViewSet, QueueUnavailable
from integrations.auth import ApiKeyPrincipal, acting_user
from integrations.errors import Conflict
from integrations.models import Integration, IntegrationLog, IntegrationStatus, Membership, Role
from integrations.permissions import ORG_HEADER
from integrations.serializers import IntegrationSerializer

from .client import KiotVietConnector

PROVIDER = KiotVietConnector.provider
SYNC_SETTINGS = ("auto_sync_enabled", "sync_interval_minutes", "config")
DEFAULT_INTERVAL_MINUTES = 30


def _belongs(request: Request, org_ref: str) -> bool:
    user = request.user
    is_id = org_ref.isascii() and org_ref.isdigit()
    if isinstance(user, ApiKeyPrincipal):
        org = user.api_key.organization
        return org_ref == (str(org.pk) if is_id else org.slug)
    if "\x00" in org_ref:
        return False
    lookup = {"organization__id": int(org_ref)} if is_id else {"organization__slug": org_ref}
    return bool(getattr(user, "is_superuser", False)) or Membership.objects.filter(user=user, **lookup).exists()


def _wait_seconds(request: Request) -> float:
    try:
        wait = float(request.query_params.get("wait") or 0)
    except ValueError:
        wait = math.nan
    if not math.isfinite(wait) or wait < 0:
        raise serializers.ValidationError({"wait": ["A number of seconds."]})
    return min(wait, MAX_TEST_WAIT_SECONDS)


def _await_log(integration: Integration, action: str, after_id: int, wait: float) -> IntegrationLog | None:
    deadline = time.monotonic() + wait
    while wait:
        entry = IntegrationLog.objects.filter(integration=integration, action=action, id__gt=after_id).order_by("id")
        if (found := entry.first()) is not None:
            return found
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.2)
    return None


def _last_log_id(integration: Integration, action: str) -> int:
    return IntegrationLog.objects.filter(integration=integration, action=action).order_by("-id").values_list(
        "id", flat=True).first() or 0


class KiotVietView(APIView):
    """Base: organization from the path (404 if not the caller's), the organization's KiotViet integration."""

    required_roles: dict[str, str] = {}
    # Compatibility aliases: the OpenAPI schema documents the generic operations they stand for.
    schema = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self.perform_authentication(request)
        org_ref = kwargs.get("organization_id")
        if org_ref is not None and request.user is not None and request.user.is_authenticated:
            if not _belongs(request, org_ref):
                raise exceptions.NotFound("No such organization.")
            request._request.META[ORG_HEADER] = org_ref  # resolved (and role-checked) as for /api/v1/
        super().initial(request, *args, **kwargs)

    def integration(self, request: Request) -> Integration:
        found = Integration.objects.filter(organization=request.organization, provider=PROVIDER)
        if request.query_params.get("code"):
            found = found.filter(code=request.query_params["code"])
        integration = found.order_by("id").first()
        if integration is None:
            raise exceptions.NotFound("This organization has no KiotViet integration.")
        return integration

    def viewset(self, request: Request, action: str) -> IntegrationViewSet:
        return IntegrationViewSet(request=request, format_kwarg=None, action=action, kwargs={})

    def represent(self, request: Request, integration: Integration, code: int = status.HTTP_200_OK) -> Response:
        integration.refresh_from_db()
        return Response(IntegrationSerializer(integration, context={"request": request}).data, status=code)


class ConfigView(KiotVietView):
    """GET / POST (create) / PUT (partial update) / DELETE the organization's KiotViet integration."""

    def get(self, request: Request, organization_id: str | None = None) -> Response:
        return self.represent(request, self.integration(request))

    def post(self, request: Request, organization_id: str | None = None) -> Response:
        if not isinstance(request.data, dict):
            raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object."]})
        # KiotViet's default schedule: every 30 minutes (the core has no per-connector default).
        data = {"name": "KiotViet", "code": PROVIDER, "type": KiotVietConnector.integration_type,
                "auto_sync_enabled": True, "sync_interval_minutes": DEFAULT_INTERVAL_MINUTES,
                **request.data, "provider": PROVIDER}
        viewset = self.viewset(request, "create")
        ser = IntegrationSerializer(data=data, context={"request": request, "view": viewset})
        ser.is_valid(raise_exception=True)
        viewset.perform_create(ser)
        return self.represent(request, ser.instance, status.HTTP_201_CREATED)

    def put(self, request: Request, organization_id: str | None = None) -> Response:
        integration = self.integration(request)
        if not isinstance(request.data, dict):
            raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object."]})
        data = {k: v for k, v in request.data.items() if k != "provider"}
        if isinstance(data.get("config"), dict):
            data["config"] = {**(integration.config or {}), **data["config"]}  # PUT changes what it names
        viewset = self.viewset(request, "partial_update")
        ser = IntegrationSerializer(integration, data=data, partial=True, context={"request": request, "view": viewset})
        ser.is_valid(raise_exception=True)
        viewset.perform_update(ser)
        return self.represent(request, integration)

    def delete(self, request: Request, organization_id: str | None = None) -> Response:
        self.integration(request).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class SyncConfigView(KiotVietView):
    """PUT the schedule and field mapping only: auto_sync_enabled, sync_interval_minutes, config."""

    def put(self, request: Request, organization_id: str) -> Response:
        if not isinstance(request.data, dict):
            raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object."]})
        unknown = sorted(set(request.data) - set(SYNC_SETTINGS))
        if unknown:
            raise serializers.ValidationError({name: ["Not a sync setting."] for name in unknown})
        return ConfigView.put(self, request, organization_id)


class SyncRequest(serializers.Serializer):
    streams = serializers.ListField(child=serializers.CharField(max_length=64), required=False, allow_empty=False)
    full = serializers.BooleanField(default=False)


def _start(request: Request, integrations: list[Integration]) -> list[int]:
    from syncjobs.services import start_sync

    body = SyncRequest(data=request.data if isinstance(request.data, dict) else {})
    body.is_valid(raise_exception=True)
    jobs = []
    with transaction.atomic():
        for integration in integrations:
            try:
                jobs += start_sync(integration, streams=body.validated_data.get("streams"),
                                   full=body.validated_data["full"], trigger="api", user=acting_user(request))
            except ValueError as exc:  # UnknownStreamError
                raise serializers.ValidationError({"streams": [str(exc)]}) from exc
    return [job.pk for job in jobs]


class SyncFromKiotVietView(KiotVietView):
    required_roles = {"POST": Role.MANAGER}

    def post(self, request: Request, organization_id: str) -> Response:
        integration = self.integration(request)
        if integration.status == IntegrationStatus.INACTIVE:
            raise Conflict("This integration is inactive; activate it before syncing.")
        return Response({"integration": integration.pk, "jobs": _start(request, [integration])},
                        status=status.HTTP_202_ACCEPTED)


class SyncAllView(KiotVietView):
    """Every active KiotViet integration of the caller's organization (scoping as everywhere else)."""

    required_roles = {"POST": Role.MANAGER}

    def post(self, request: Request) -> Response:
        integrations = list(Integration.objects.filter(organization=request.organization, provider=PROVIDER,
                                                       status=IntegrationStatus.ACTIVE).order_by("id"))
        return Response({"integrations": [i.pk for i in integrations], "jobs": _start(request, integrations)},
                        status=status.HTTP_202_ACCEPTED)


class PushProductView(KiotVietView):
    required_roles = {"POST": Role.MANAGER}

    def post(self, request: Request, organization_id: str, product_id: int) -> Response:
        from records.models import Product

        from .tasks import PUSH_RESULT, push_product

        integration = self.integration(request)
        if not Product.objects.filter(pk=product_id, organization=request.organization).exists():
            raise exceptions.NotFound("No such product.")
        wait = _wait_seconds(request)
        last = _last_log_id(integration, PUSH_RESULT)
        try:
            push_product.delay(integration.pk, product_id)
        except Exception as exc:  # noqa: BLE001 - broker down: say so instead of a bare 500
            raise QueueUnavailable() from exc
        return _outcome(integration, PUSH_RESULT, last, wait, {"product": product_id})


class TestConnectionView(KiotVietView):
    required_roles = {"GET": Role.MANAGER}

    def get(self, request: Request, organization_id: str) -> Response:
        from integrations.tasks import CONNECTION_TEST_ACTION
        from integrations.tasks import test_connection as test_connection_task

        integration = self.integration(request)
        wait = _wait_seconds(request) if "wait" in request.query_params else MAX_TEST_WAIT_SECONDS
        last = _last_log_id(integration, CONNECTION_TEST_ACTION)
        try:
            test_connection_task.delay(integration.pk)
        except Exception as exc:  # noqa: BLE001
            raise QueueUnavailable() from exc
        return _outcome(integration, CONNECTION_TEST_ACTION, last, wait, {})


class WebhookRegistrationView(KiotVietView):
    """POST registers this integration's hooks at KiotViet (replacing old ones); DELETE removes them."""

    required_roles = {"POST": Role.ADMIN, "DELETE": Role.ADMIN}

    def post(self, request: Request, organization_id: str) -> Response:
        return self._queue(request, register=True)

    def delete(self, request: Request, organization_id: str) -> Response:
        return self._queue(request, register=False)

    def _queue(self, request: Request, register: bool) -> Response:
        from .tasks import WEBHOOKS_RESULT, manage_webhooks

        integration = self.integration(request)
        wait = _wait_seconds(request)
        last = _last_log_id(integration, WEBHOOKS_RESULT)
        try:
            manage_webhooks.delay(integration.pk, register)
        except Exception as exc:  # noqa: BLE001
            raise QueueUnavailable() from exc
        return _outcome(integration, WEBHOOKS_RESULT, last, wait, {"callback_url": integration.callback_url})


def _outcome(integration: Integration, action: str, last: int, wait: float, extra: dict[str, Any]) -> Response:
    from integrations.tasks import outcome

    entry = _await_log(integration, action, last, wait)
    if entry is None:
        return Response({"status": "queued", "integration": integration.pk, **extra}, status=status.HTTP_202_ACCEPTED)
    return Response({"status": "done", "integration": integration.pk, **extra, **outcome(entry)})
