"""Times in the admin are shown in the browser's time zone (the console's script sets the cookie)."""

from __future__ import annotations

import zoneinfo

from django.utils import timezone


class BrowserTimezoneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        name = request.COOKIES.get("hub_tz", "") if request.path.startswith("/admin/") else ""
        try:
            zone = zoneinfo.ZoneInfo(name) if name else None
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            zone = None  # a forged or unknown zone name: the server's zone
        if zone is None:
            return self.get_response(request)
        with timezone.override(zone):
            return self.get_response(request)
