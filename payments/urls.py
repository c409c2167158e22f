"""API routes of the payments app; config/urls.py mounts ``router`` (and ``api_urlpatterns``) under
/api/v1/ and ``urlpatterns`` at the root."""

from integrations.routers import OptionalSlashRouter

router = OptionalSlashRouter()
api_urlpatterns: list = []
urlpatterns: list = []
