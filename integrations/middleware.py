"""Answers under /api/ are JSON, also for Django-level 404s and unhandled exceptions (never an HTML 500)."""

from __future__ import annotations

import logging

from .errors import error_response

log = logging.getLogger("integrations.api")


class ApiErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            request.path.startswith("/api/")
            and response.status_code == 404
            and "json" not in response.get("Content-Type", "")
        ):
            return error_response("not_found", "No such endpoint.", 404)
        return response

    def process_exception(self, request, exception):
        if not request.path.startswith("/api/"):
            return None
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response("server_error", "Internal error; it has been logged.", 500)
