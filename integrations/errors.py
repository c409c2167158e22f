"""One error envelope for the whole API: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

log = logging.getLogger("integrations.api")


class Conflict(exceptions.APIException):
    """409: the object is not in a state that allows this (inactive integration, finished job...)."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "The request conflicts with the current state."


class PayloadTooLarge(exceptions.APIException):
    """413: the body is over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (Django refuses to read it)."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"
    default_detail = "The request body is larger than this endpoint accepts."


def too_large_detail() -> str:
    from django.conf import settings

    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return f"The request body is larger than {limit} bytes." if limit else PayloadTooLarge.default_detail


def log_too_large(request, exc: Exception) -> None:
    log.warning("refused an oversized body: %s %s (Content-Length %s): %s", getattr(request, "method", "?"),
                getattr(request, "path", "?"),
                getattr(request, "META", {}).get("CONTENT_LENGTH", "?"), exc.__class__.__name__)


def error_body(code: str, message: str, details=None) -> dict:
    return {"error": {"code": code, "message": message, "details": details if details is not None else {}}}


def error_response(code: str, message: str, http_status: int, details=None) -> JsonResponse:
    return JsonResponse(error_body(code, message, details), status=http_status)


def api_exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        # Raised when DRF reads request.data: bad input, not a server error.
        log_too_large(context.get("request"), exc)
        exc = PayloadTooLarge(too_large_detail())
    elif isinstance(exc, TooManyFieldsSent):
        log.warning("refused a form with too many fields: %s", getattr(context.get("request"), "path", "?"))
        exc = exceptions.ParseError("Too many form fields.")
    response = exception_handler(exc, context)
    if response is None:
        # Not an API exception: log it (the middleware answers it for non-DRF views) and answer 500.
        log.exception("unhandled API error", exc_info=exc)
        set_rollback()  # with ATOMIC_REQUESTS, nothing half-done is committed
        return Response(
            error_body("server_error", "Internal error; it has been logged."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    if isinstance(exc, exceptions.ValidationError):
        body = error_body("validation_error", "Invalid input.", response.data)
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        body = error_body(str(code), str(detail), {})
    response.data = body
    return response


def _describe(details: Any, path: str = "") -> list[str]:
    if isinstance(details, dict):
        return [line for key, value in details.items()
                for line in _describe(value, str(key) if not path or path == "detail" else f"{path}.{key}")]
    if isinstance(details, list):
        return [line for value in details for line in _describe(value, path)]
    return [f"{path}: {details}" if path and path not in ("detail", "non_field_errors") else str(details)]


def seed_error_body(body: dict) -> dict:
    """The services API document's error shape, from our envelope: ``{"success": false, "message":
    ..., "error": "<detailed message>"}``, with our ``code`` and structured ``details`` beside them."""
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    message = str(error.get("message") or "Error")
    details = error.get("details")
    detail_text = "; ".join(_describe(details)) if details else ""
    return {"success": False, "message": message, "error": detail_text or message,
            "code": error.get("code", "error"), "details": details if details is not None else {}}
