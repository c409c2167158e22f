"""Admin base: staff see only their organizations' rows; another organization's object is a 404."""

from __future__ import annotations

import json
from functools import cached_property

from django.contrib import admin
from django.contrib.admin.utils import NotRelationField, get_fields_from_path
from django.core.exceptions import FieldDoesNotExist
from django.core.paginator import Paginator
from django.db import connection, models
from django.http import Http404
from unfold.admin import ModelAdmin as ConsoleModelAdmin

from .fields import _EncryptedField
from .models import Membership, Organization, Role, role_at_least


def secret_field_names(model) -> frozenset[str]:
    """Names of the model's encrypted fields: never rendered by any admin page, in any form."""
    return frozenset(f.name for f in model._meta.concrete_fields if isinstance(f, _EncryptedField))


class SecretFieldsHiddenMixin:
    """Removes encrypted fields from every place a ModelAdmin could render them.

    An admin without an explicit field list (a proxy model's, a new model's) shows every model field,
    read-only ones as their plaintext value; this removes them at the one place every page goes
    through, so a new admin cannot leak by forgetting to exclude them. Admins that edit a secret do
    it through masked stand-in form fields (see ``integrations_api.forms``).
    """

    def _without_secrets(self, names):
        hidden = secret_field_names(self.model)
        return [n for n in names if not (isinstance(n, str) and n in hidden)]

    def get_fields(self, request, obj=None):
        return self._without_secrets(super().get_fields(request, obj))

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        return [(name, {**opts, "fields": [
            tuple(self._without_secrets(f)) if isinstance(f, list | tuple) else f
            for f in self._without_secrets(opts.get("fields", []))
        ]}) for name, opts in fieldsets]

    def get_readonly_fields(self, request, obj=None):
        return self._without_secrets(super().get_readonly_fields(request, obj))

    def get_list_display(self, request):
        return self._without_secrets(super().get_list_display(request))

    def get_search_fields(self, request):
        return self._without_secrets(super().get_search_fields(request))

    def get_exclude(self, request, obj=None):
        return [*(super().get_exclude(request, obj) or []), *secret_field_names(self.model)]


def user_org_roles(request) -> dict[int, str]:
    """{organization id: role} of the admin user, cached on the request."""
    cached = getattr(request, "_hub_org_roles", None)
    if cached is None:
        cached = dict(Membership.objects.filter(user=request.user).values_list("organization_id", "role"))
        request._hub_org_roles = cached
    return cached


def has_org_role(request, organization_id: int | None, minimum: str) -> bool:
    if request.user.is_superuser:
        return True
    roles = user_org_roles(request)
    if organization_id is None:
        return any(role_at_least(r, minimum) for r in roles.values())
    return role_at_least(roles.get(organization_id, ""), minimum)


class OrgScopedAdmin(SecretFieldsHiddenMixin, ConsoleModelAdmin):
    """Scope by ``org_field``; permissions follow the membership role, not Django's model permissions."""

    org_field = "organization"
    change_role = Role.ADMIN  # role needed to add/change/delete
    # Provider URLs without a scheme are https (Django 6's default; explicit to skip its warning).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(**{f"{self.org_field}__in": list(user_org_roles(request))})

    def _obj_org_id(self, obj) -> int | None:
        if obj is None:
            return None
        path = self.org_field.split("__")
        for part in path[:-1]:
            obj = getattr(obj, part)
        return getattr(obj, f"{path[-1]}_id")

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_staff and (
            request.user.is_superuser or bool(user_org_roles(request))
        )

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request) and has_org_role(request, self._obj_org_id(obj), Role.VIEWER)

    def has_add_permission(self, request) -> bool:
        return self.has_module_permission(request) and has_org_role(request, None, self.change_role)

    def has_change_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request) and has_org_role(request, self._obj_org_id(obj), self.change_role)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.has_change_permission(request, obj)

    def get_list_filter(self, request):
        filters = super().get_list_filter(request)
        if request.user.is_superuser:
            return filters
        return [self._scoped_list_filter(item) for item in filters]

    def _scoped_list_filter(self, item):
        # A plain related-field filter lists every row of the related model, other organizations'
        # integrations included; RelatedOnlyFieldListFilter offers only those our rows point to.
        if isinstance(item, str):
            name = item
        elif isinstance(item, tuple) and item[1] is admin.RelatedFieldListFilter:
            name = item[0]
        else:
            return item
        try:
            field = get_fields_from_path(self.model, name)[-1]
        except (FieldDoesNotExist, NotRelationField):
            return item
        if not field.is_relation:
            return item
        related_has_org = any(f.name == "organization" for f in field.related_model._meta.fields)
        return (name, OrgRelatedFilter if related_has_org else admin.RelatedOnlyFieldListFilter)

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # Django redirects to the index for a missing object; for another tenant's object a plain
        # 404 says no more than "not found".
        raise Http404("No such object.")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if not request.user.is_superuser:
            # Choices are the organizations where this user may change things, not every membership:
            # a viewer in one organization and an admin in another must not add rows to the first.
            model = db_field.remote_field.model
            orgs = [org for org, role in user_org_roles(request).items() if role_at_least(role, self.change_role)]
            if model is Organization:
                kwargs["queryset"] = Organization.objects.filter(pk__in=orgs)
            elif any(f.name == "organization" for f in model._meta.fields):
                kwargs["queryset"] = model._default_manager.filter(organization__in=orgs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ReadOnlyOrgAdmin(OrgScopedAdmin):
    """Rows written by the hub itself (logs, jobs, synced records): shown, never edited by hand."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class EstimatedCountPaginator(Paginator):
    """Counts exactly up to ``exact_limit`` rows, then trusts the planner's estimate.

    The admin counts the (filtered) list on every page view; ``COUNT(*)`` over a million log rows
    costs more than the page itself. Past the limit the page shows "about N" (PostgreSQL's estimate
    from its statistics, as ``EXPLAIN`` gives it); below it, the exact number.
    """

    exact_limit = 10_000

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not isinstance(queryset, models.QuerySet) or connection.vendor != "postgresql":
            return super().count
        capped = queryset.order_by()[: self.exact_limit + 1].count()
        if capped <= self.exact_limit:
            return capped
        return max(self.exact_limit + 1, self.estimate(queryset))

    @staticmethod
    def estimate(queryset: models.QuerySet) -> int:
        sql, params = queryset.order_by().query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        return int(plan[0]["Plan"]["Plan Rows"])


class OrgRelatedFilter(admin.RelatedFieldListFilter):
    """Choices are the related rows of the user's organizations, read from the small related table
    (RelatedOnlyFieldListFilter would read DISTINCT ids from the large listed table)."""

    def field_choices(self, field, request, model_admin):
        related = field.related_model
        if request.user.is_superuser or not any(f.name == "organization" for f in related._meta.fields):
            return super().field_choices(field, request, model_admin)
        rows = related._default_manager.filter(organization__in=list(user_org_roles(request)))
        hidden = secret_field_names(related)
        if hidden:  # a choice's label never needs a secret, and each would be decrypted
            rows = rows.defer(*hidden)
        return [(row.pk, str(row)) for row in rows]


class LargeTableMixin:
    """Lists of tables that grow to millions of rows: no exact COUNT(*), no full-table date drill-down."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 50

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        # Each row shows its integration: load it in the same query, without its encrypted columns
        # (three AES-GCM decryptions per row that no list shows).
        field = next((f for f in self.model._meta.fields if f.name == "integration" and f.is_relation), None)
        if field is None:
            return queryset
        hidden = secret_field_names(field.related_model)
        return queryset.select_related("integration").defer(*(f"integration__{name}" for name in hidden))
