"""The demo organization's generic REST integration, on this hub's REST sandbox (``seed_demo``).

Configured as a user would in the console: OAuth2 client credentials, five streams (one per
pagination style) and a field mapping for each, using every transform.
"""

from __future__ import annotations

from typing import Any

from .client import RestConnector

ACCOUNT = "demo"


def product_mapping() -> list[dict[str, Any]]:
    """The sandbox's items as products: every transform of connectors/mapping.py at least once."""
    return [
        {"target": "name", "source": ["title", "variant"], "transforms": [{"op": "join", "sep": " "}, {"op": "strip"}]},
        {"target": "sku", "source": "sku", "transforms": [{"op": "upper"}]},
        {"target": "barcode", "source": "ean", "transforms": [{"op": "string"}]},
        {"target": "price", "source": "price_cents", "transforms": [{"op": "number"}, {"op": "minor_to_major"}]},
        {"target": "cost", "source": "cost", "transforms": [{"op": "decimal", "places": 2}]},
        {"target": "currency", "source": "currency",
         "transforms": [{"op": "default", "value": "usd"}, {"op": "upper"}]},
        {"target": "unit", "source": "unit", "transforms": [{"op": "lower"}]},
        {"target": "is_active", "source": "status",
         "transforms": [{"op": "lookup", "table": {"A": True, "D": False}, "default": False}]},
        {"target": "attributes.released", "source": "released", "transforms": [{"op": "date", "format": "%d.%m.%Y"}]},
        {"target": "attributes.updated_at", "source": "updated_at", "transforms": [{"op": "datetime"}]},
        {"target": "attributes.weight_g", "source": "weight_kg",
         "transforms": [{"op": "major_to_minor", "exponent": 3}]},
        {"target": "category", "source": "category.id", "ref": True},
    ]


def streams() -> list[dict[str, Any]]:
    return [
        {"name": "categories", "path": "/categories", "model": "records.Category", "records_path": "results",
         "pagination": {"style": "page", "page_param": "page", "size_param": "per_page", "size": 10}},
        {"name": "products", "path": "/items", "model": "records.Product", "records_path": "data.items",
         "pagination": {"style": "cursor", "cursor_param": "cursor", "cursor_path": "meta.next",
                        "size_param": "limit", "size": 500},
         "incremental": {"param": "updated_since", "field": "updated_at"}, "depends_on": ["categories"]},
        {"name": "customers", "path": "/customers", "model": "records.Customer", "records_path": "customers",
         "pagination": {"style": "offset", "offset_param": "offset", "limit_param": "limit", "size": 100}},
        {"name": "orders", "path": "/orders", "model": "records.Order",
         "pagination": {"style": "link", "size_param": "per_page", "size": 100}, "depends_on": ["customers"]},
        {"name": "locations", "path": "/locations", "model": "records.Location", "records_path": "locations"},
    ]


def config(base: str) -> dict[str, Any]:
    return {
        "auth": {"type": "oauth2", "token_url": f"{base}/sandbox/rest/oauth/token", "client_id": ACCOUNT,
                 "scopes": "read"},
        "streams": streams(),
        "field_mappings": {
            "categories": [{"target": "name", "source": "name"}],
            "products": product_mapping(),
            "customers": [{"target": "name", "source": "full_name"},
                          {"target": "email", "source": "contact.email", "transforms": [{"op": "lower"}]},
                          {"target": "phone", "source": "contact.phone"}],
            "orders": [{"target": "number", "source": "number"},
                       {"target": "total", "source": "total", "transforms": [{"op": "decimal", "places": 2}]},
                       {"target": "ordered_at", "source": "placed_at", "transforms": [{"op": "datetime"}]},
                       {"target": "customer", "source": "customer_id", "ref": True}],
            "locations": [{"target": "name", "source": "name"}, {"target": "address", "source": "city"},
                          {"target": "kind", "transforms": [{"op": "default", "value": "store"}]}],
        },
    }


def demo_integrations(base: str) -> list[dict]:
    """The integration spec, pointed at this hub's REST sandbox under ``base`` (the hub's public URL)."""
    return [{
        "code": "rest-sandbox",
        "name": "Generic REST (sandbox)",
        "provider": "rest",
        "type": "api",
        "base_url": f"{base}/sandbox/rest",
        "credentials": {"client_secret": f"{ACCOUNT}-secret"},
        "config": RestConnector.validate_config(config(base)),  # stored normalised, as the API would
        "auto_sync_enabled": True,
        "sync_interval_minutes": 60,
        "description": "A generic REST integration configured only with data: auth, streams and field mappings.",
    }]
