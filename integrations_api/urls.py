"""API routes of the integrations app; config/urls.py mounts ``router`` under /api/v1/."""

from django.urls import path

from integrations import account
from integrations.routers import OptionalSlashRouter

from . import api

router = OptionalSlashRouter()
router.register("integrations", api.IntegrationViewSet, basename="integration")
router.register("providers", api.ProviderViewSet, basename="provider")
router.register("api-keys", api.ApiKeyViewSet, basename="api-key")
router.register("integration-logs", api.IntegrationLogViewSet, basename="integration-log")
router.register("credential-audits", api.CredentialAuditViewSet, basename="credential-audit")

# Plain views beside the router (config/urls.py mounts these under /api/v1/ too).
api_urlpatterns = [
    path("auth/token", account.ObtainToken.as_view(), name="auth-token"),
    path("me", account.Me.as_view(), name="me"),
]
