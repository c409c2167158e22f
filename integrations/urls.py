"""API routes of the integrations app; config/urls.py mounts ``router`` under /api/v1/."""

from . import api
from .routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("integrations", api.IntegrationViewSet, basename="integration")
router.register("providers", api.ProviderViewSet, basename="provider")
router.register("api-keys", api.ApiKeyViewSet, basename="api-key")
router.register("integration-logs", api.IntegrationLogViewSet, basename="integration-log")
router.register("credential-audits", api.CredentialAuditViewSet, basename="credential-audit")
