"""The seed's iiko routes (``/api/v1/accounts/{account_id}/integrations/iiko/...``), as aliases of the
generic API.

``account_id`` is the organization's id or slug and chooses it as ``X-Organization`` would; a caller
who is not a member gets a 404. ``?integration_code=`` picks one of several iiko integrations. A
sync's result per entity has the seed's shape ``{"total", "created", "updated", "errors",
"error_details"}``, read from the entity's SyncJob: the same numbers the job records.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from connectors.aliases import Alias, AliasMap

PROVIDER = "iiko"


class ConnectSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=100, required=False, help_text="The iiko login.")
    login = serializers.CharField(max_length=100, required=False, help_text="Same as username.")
    password = serializers.CharField(max_length=200, required=False, trim_whitespace=False, write_only=True)
    base_url = serializers.URLField(max_length=500, required=False,
                                    help_text="The customer's iiko server, e.g. https://chain.iiko.it")
    name = serializers.CharField(max_length=255, required=False)
    code = serializers.SlugField(max_length=100, required=False)


def connect_fields(data: dict[str, Any], is_new: bool) -> dict[str, Any]:
    """The seed's connect body -> the integration's fields (credentials merge into the stored ones)."""
    credentials = {k: v for k, v in {"login": data.get("username") or data.get("login"),
                                     "password": data.get("password")}.items() if v is not None}
    fields: dict[str, Any] = {"credentials": credentials}
    if data.get("base_url"):
        fields["base_url"] = data["base_url"]
    if is_new:
        fields.update(type="erp", name=data.get("name") or "iiko", code=data.get("code") or PROVIDER)
    elif data.get("name"):
        fields["name"] = data["name"]
    return fields


ALIASES = AliasMap(
    provider=PROVIDER,
    prefix="api/v1/accounts/<str:account_id>/integrations/iiko",
    organization_kwarg="account_id",
    code_param="integration_code",
    not_found="This account has no iiko integration: POST .../iiko/connect first.",
    # The seed's entity types -> our streams (products bring their groups along: categories first).
    entity_streams={
        "restaurants": ("restaurants",), "stores": ("stores",), "suppliers": ("suppliers",),
        "products": ("product-groups", "products"), "invoices": ("invoices",),
    },
    routes=(
        Alias("connect", "connect", "iiko-connect",
              {"serializer": ConnectSerializer, "fields": connect_fields, "default_wait": 10.0}),
        Alias("status", "status", "iiko-status"),
        Alias("sync/<str:entity_type>", "sync-entity", "iiko-sync"),
        Alias("logs", "logs", "iiko-logs"),
        Alias("suppliers", "records", "iiko-suppliers", {"records": "suppliers"}),
    ),
)
