"""The hub's URLs plus the benchmark's baseline: a bare Django view that only checks an HMAC."""

import hashlib
import hmac

from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from config.urls import urlpatterns as hub_urlpatterns

BASELINE_SECRET = b"bench-webhook-secret"


@csrf_exempt
def baseline(request):
    body = request.body
    expected = hmac.new(BASELINE_SECRET, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, request.META.get("HTTP_X_SIGNATURE", "")):
        return HttpResponse(b'{"error": "bad signature"}', status=401, content_type="application/json")
    return HttpResponse(b'{"status": "ok"}', content_type="application/json")


urlpatterns = [path("bench/baseline", baseline), *hub_urlpatterns]
