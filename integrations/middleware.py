"""Answers under /api/ are JSON, also for Django-level 404s and unhandled exceptions (never an HTML 500)."""

from __future__ import annotations

import logging

from django.core.exceptions import RequestDataTooBig

from .errors import PayloadTooLarge, error_response, log_too_large, too_large_detail

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
        if isinstance(exception, RequestDataTooBig):  # a plain view read request.body
            log_too_large(request, exception)
            return error_response(PayloadTooLarge.default_code, too_large_detail(), 413)
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response("server_error", "Internal error; it has been logged.", 500)
