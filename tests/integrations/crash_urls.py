"""The hub's URLs plus views that crash, to prove an /api/ 500 is JSON (used via pytest.mark.urls)."""

from django.urls import path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny

from config.urls import urlpatterns as hub_urlpatterns


def plain_crash(request):
    raise RuntimeError("boom in a plain Django view")


@api_view(["GET"])
@permission_classes([AllowAny])
def drf_crash(request):
    raise RuntimeError("boom in a DRF view")


urlpatterns = [
    path("api/test-crash/plain", plain_crash),
    path("api/test-crash/drf", drf_crash),
    path("not-api/crash", plain_crash),
    *hub_urlpatterns,
]
