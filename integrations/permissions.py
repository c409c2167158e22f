"""Which organization a request acts in, and whether its role allows the action.

viewer reads; manager also operates (sync, retry, cancel); admin also configures (integrations,
credentials, API keys); owner also manages members.
"""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission

from .auth import ApiKeyPrincipal
from .models import Membership, Organization, Role, role_at_least

ORG_HEADER = "HTTP_X_ORGANIZATION"


def resolve_organization(request) -> tuple[Organization, str]:
    """Return (organization, role) for an authenticated request, or raise a clear API error."""
    user = request.user
    wanted = request.META.get(ORG_HEADER, "").strip()
    if isinstance(user, ApiKeyPrincipal):
        key = user.api_key
        if wanted and wanted not in (key.organization.slug, str(key.organization_id)):
            raise exceptions.PermissionDenied("This API key belongs to another organization.")
        return key.organization, key.role

    memberships = Membership.objects.filter(user=user).select_related("organization")
    if wanted:
        if "\x00" in wanted:  # no slug has one, and PostgreSQL refuses it in a query (was a 500)
            raise exceptions.PermissionDenied("You are not a member of that organization.")
        # isdigit() alone also takes "²", which int() refuses (was a 500): ASCII digits are an id.
        is_id = wanted.isascii() and wanted.isdigit()
        lookup = {"organization__id": int(wanted)} if is_id else {"organization__slug": wanted}
        membership = memberships.filter(**lookup).first()
        if membership:
            return membership.organization, membership.role
        if user.is_superuser:
            org = Organization.objects.filter(**{k.split("__")[1]: v for k, v in lookup.items()}).first()
            if org:
                return org, Role.OWNER
        raise exceptions.PermissionDenied("You are not a member of that organization.")
    found = list(memberships[:2])
    if len(found) == 1:
        return found[0].organization, found[0].role
    if not found:
        raise exceptions.PermissionDenied("You are not a member of any organization.")
    raise exceptions.ValidationError(
        {"X-Organization": "You belong to several organizations: choose one with the X-Organization header."}
    )


class OrganizationRolePermission(BasePermission):
    """Sets ``request.organization`` and ``request.role`` and checks the view's role requirement.

    A view states what it needs with ``required_roles = {"<action or method>": "<role>"}``; without
    an entry, reading needs viewer and anything else needs admin.
    """

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if not hasattr(request, "organization"):
            request.organization, request.role = resolve_organization(request)
        needed = required_role(request, view)
        if not role_at_least(request.role, needed):
            raise exceptions.PermissionDenied(f"This needs the {needed} role; you have {request.role}.")
        return True


def required_role(request, view) -> str:
    table = getattr(view, "required_roles", {}) or {}
    action = getattr(view, "action", None)
    if action and action in table:
        return table[action]
    if request.method in table:
        return table[request.method]
    return Role.VIEWER if request.method in SAFE_METHODS else Role.ADMIN
