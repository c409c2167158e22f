"""API routes of the sync-jobs app; config/urls.py mounts ``router`` under /api/v1/."""

from integrations.routers import OptionalSlashRouter

from . import api

router = OptionalSlashRouter()
router.register("sync-jobs", api.SyncJobViewSet, basename="sync-job")
