"""API routes of the sync-jobs app; config/urls.py mounts ``router`` under /api/v1/."""

from rest_framework.routers import DefaultRouter

from . import api

router = DefaultRouter(trailing_slash="/?")
router.register("sync-jobs", api.SyncJobViewSet, basename="sync-job")
