"""The API's JSON parser: DRF's, with JSON nested too deep a 400 (DRF lets ``RecursionError`` out: a 500)."""

from __future__ import annotations

import logging
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

from .jsonlimits import MAX_DEPTH, exceeds_depth

log = logging.getLogger("integrations.api")


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            data = None
        else:
            if not exceeds_depth(data, MAX_DEPTH):
                return data
        request = (parser_context or {}).get("request")
        log.warning("refused a JSON body nested deeper than %s levels: %s %s", MAX_DEPTH,
                    getattr(request, "method", "?"), getattr(request, "path", "?"))
        raise ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels.")
