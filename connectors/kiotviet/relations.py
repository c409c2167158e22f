"""Product relations a product no longer has (a removed attribute, price-book price, unit...) are soft-deleted.

Relations are upserted by external id, so a re-sync never duplicates them; this removes the ones
the product's latest version no longer lists. It runs for products whose payload changed (an
unchanged product has unchanged relations): after each sync page, inside its transaction (the runner
calls the products stream's ``after_write`` hook once the page's relations were written). A webhook's
outcome lists the stale ones among its deletions (``stale_relations``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from connectors.base import RecordRow
from connectors.errors import MappingError
from records.models import Product, ProductRelation
from records.upsert import mark_deleted

from . import mappers


def drop_stale_relations(integration: Any, product_external_ids: Iterable[str]) -> int:
    """Soft-delete live relations of these products that their stored payload no longer yields."""
    wanted = list(dict.fromkeys(product_external_ids))
    if not wanted:
        return 0
    current: set[str] = set()
    pks = []
    for pk, payload in Product.objects.filter(integration=integration, external_id__in=wanted).values_list(
            "id", "payload"):
        pks.append(pk)
        try:
            current.update(row.external_id for row in mappers.product_relations(payload))
        except (MappingError, KeyError, TypeError, AttributeError):
            current.add("*")  # cannot tell what this product has: keep its relations
    stale = (ProductRelation.objects.filter(integration=integration, product_id__in=pks, deleted_at__isnull=True)
             .exclude(external_id__in=current).values_list("external_id", flat=True))
    return mark_deleted(integration, ProductRelation, list(stale)) if "*" not in current else 0


def stale_relations(integration: Any, product_external_id: str, relations: Iterable[RecordRow]) -> list[str]:
    """External ids of this product's live relations that ``relations`` (its latest ones) no longer lists."""
    return list(ProductRelation.objects.filter(
        integration=integration, product__integration=integration, product__external_id=product_external_id,
        deleted_at__isnull=True,
    ).exclude(external_id__in=[row.external_id for row in relations]).values_list("external_id", flat=True))
