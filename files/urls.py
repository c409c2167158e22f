"""Under /api/v1/ (mounted by config/urls.py)."""

from integrations.routers import OptionalSlashRouter

from .api import StoredFileViewSet

router = OptionalSlashRouter()
router.register("files", StoredFileViewSet, basename="stored-file")
