"""API routes of the payments app; config/urls.py mounts ``router`` (and ``api_urlpatterns``) under
/api/v1/ and ``urlpatterns`` at the root."""

from django.urls import path

from integrations.routers import OptionalSlashRouter

from .api import PaymentViewSet, TestPaymentView

router = OptionalSlashRouter()
router.register("payments", PaymentViewSet, basename="payment")
api_urlpatterns: list = []
urlpatterns: list = [
    path("api/integrations/test/payment", TestPaymentView.as_view(), name="test-payment"),
]
