"""Under /api/v1/ (mounted by config/urls.py)."""

from integrations.routers import OptionalSlashRouter

from .api import DestinationViewSet, EventDeliveryViewSet

router = OptionalSlashRouter()
router.register("event-destinations", DestinationViewSet, basename="event-destination")
router.register("event-deliveries", EventDeliveryViewSet, basename="event-delivery")
