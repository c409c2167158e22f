"""The row a mapper hands to the records store: the one type the store and the connectors share.

It lives with the store (the ground) so that the store imports nothing above it; the connector kit
re-exports it (``connectors.base.RecordRow``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RecordRow:
    """One of our records as a mapper produced it from one source record."""

    external_id: str
    fields: dict[str, Any]
    # Foreign keys given by the referenced record's external id (same integration),
    # e.g. {"category": "cat-17"}; the upsert resolves them in one query per field and batch.
    refs: dict[str, str | None] = field(default_factory=dict)
    # The raw source record: hashed to skip unchanged rows, kept for audit and re-mapping.
    payload: Any = None
    # What the mapper had to make up or work around (e.g. a missing name): shown on the job, the record
    # is still written.
    warnings: list[str] = field(default_factory=list)
    # What besides the payload decided the fields (a staff field mapping's fingerprint): hashed with the
    # payload, so a changed mapping rewrites records whose source did not change.
    variant: str = ""
