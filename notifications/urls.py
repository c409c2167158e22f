"""Under /api/v1/ (mounted by config/urls.py)."""

from integrations.routers import OptionalSlashRouter

from .api import MessageViewSet

router = OptionalSlashRouter()
router.register("notifications", MessageViewSet, basename="notification")
