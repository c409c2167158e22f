"""The API's pagination (the DEFAULT_PAGINATION_CLASS): validated ``limit`` and ``offset``."""

from __future__ import annotations

from rest_framework import pagination
from rest_framework.exceptions import ValidationError

# PostgreSQL's LIMIT and OFFSET are bigints.
MAX_OFFSET = 2**63 - 1


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    """``limit`` (default PAGE_SIZE, at most ``max_limit``) and ``offset``. A value that is not a whole
    number, or is below the minimum, is a 400 (DRF silently used the default). Whole numbers past the
    maximum are clamped: ``offset=10**21`` reached the database and failed there (a 500); now it is an
    empty page."""

    max_limit = 1000

    def get_limit(self, request) -> int:
        limit = _query_int(request, self.limit_query_param, minimum=1)
        return self.default_limit if limit is None else min(limit, self.max_limit)

    def get_offset(self, request) -> int:
        offset = _query_int(request, self.offset_query_param, minimum=0)
        return 0 if offset is None else min(offset, MAX_OFFSET)


def _query_int(request, name: str, *, minimum: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:  # also a number longer than Python parses (4300 digits)
        raise ValidationError({name: ["A whole number is required."]}) from None
    if value < minimum:
        raise ValidationError({name: [f"Ensure this value is greater than or equal to {minimum}."]})
    return value
