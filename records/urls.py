"""API routes of the records app; config/urls.py mounts ``router`` under /api/v1/."""

from integrations.routers import OptionalSlashRouter

from .api import RECORD_TYPES, VIEWSETS

# Matches /products and /products/ alike (DRF's own router would 301 the slash-less form).
router = OptionalSlashRouter()
for prefix, model, *_ in RECORD_TYPES:
    router.register(prefix, VIEWSETS[prefix], basename=model._meta.model_name)
