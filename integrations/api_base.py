"""Base for every organization-scoped API view: nothing of another organization is ever reachable."""

from __future__ import annotations

from rest_framework import viewsets

from .pagination import LimitOffsetPagination


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
