"""Base for every organization-scoped API view: nothing of another organization is ever reachable."""

from __future__ import annotations

from rest_framework import pagination, viewsets

# PostgreSQL's LIMIT and OFFSET are bigints.
MAX_OFFSET = 2**63 - 1


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    """``limit`` (default PAGE_SIZE, at most ``max_limit``) and ``offset``. Out-of-range numbers are
    clamped, as DRF already does for invalid ones: ``offset=10**21`` reached the database and failed
    there (a 500); now it is an empty page."""

    max_limit = 1000

    def get_offset(self, request) -> int:
        return min(super().get_offset(request), MAX_OFFSET)


class OrgScopedViewSet(viewsets.GenericViewSet):
    """Filters ``queryset`` to the caller's organization (``org_field``); roles via ``required_roles``."""

    org_field = "organization"
    required_roles: dict[str, str] = {}
    pagination_class = LimitOffsetPagination

    def get_queryset(self):
        qs = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):  # schema generation has no organization
            return qs.none()
        return qs.filter(**{self.org_field: self.request.organization})
