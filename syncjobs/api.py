"""Sync jobs API: list and read jobs of the caller's organization; cancel and re-run (managers)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from integrations.api_base import OrgScopedViewSet
from integrations.auth import acting_user
from integrations.errors import Conflict
from integrations.filters import HubFilterSet, IsoDateTimeFilter
from integrations.models import Role

from .models import SyncJob
from .serializers import SyncJobSerializer
from .services import JobStateError, cancel_job, rerun_job


class SyncJobFilter(HubFilterSet):
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = SyncJob
        fields = ["integration", "status", "stream", "trigger", "job_type"]


class SyncJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    queryset = SyncJob.objects.select_related("integration")
    serializer_class = SyncJobSerializer
    filterset_class = SyncJobFilter
    ordering_fields = ["created_at", "started_at", "completed_at", "status"]
    required_roles = {"cancel": Role.MANAGER, "rerun": Role.MANAGER}

    @extend_schema(request=None, responses={200: SyncJobSerializer, 409: dict})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None) -> Response:
        """A pending job is cancelled at once; a running one stops at its next page."""
        try:
            job = cancel_job(self.get_object())
        except JobStateError as exc:
            raise Conflict(str(exc)) from exc
        return Response(self.get_serializer(job).data)

    @extend_schema(request=None, responses={202: SyncJobSerializer, 409: dict})
    @action(detail=True, methods=["post"])
    def rerun(self, request, pk=None) -> Response:
        """Run a finished job's stream again; an incremental run resumes from the last checkpoint."""
        user = acting_user(request)
        try:
            job = rerun_job(self.get_object(), user=user)
        except JobStateError as exc:
            raise Conflict(str(exc)) from exc
        return Response(self.get_serializer(job).data, status=status.HTTP_202_ACCEPTED)
