"""The 1C:Enterprise connector: the standard OData interface (v3) of a published infobase.

Every call is a GET under ``<publication>/odata/standard.odata/`` with ``$format=json`` and HTTP
Basic auth. The Basic header is built here, from the UTF-8 bytes of ``user:password``: requests'
own helper encodes Latin-1 and fails on the Cyrillic user names most infobases have.

Query strings are built here too, with spaces as ``%20`` (never ``+``) and the OData literal
punctuation (``'``, ``(``, ``)``, ``=``, ``,``) left as is, so ``$filter=Ref_Key eq guid'…'`` reaches
the web server as 1C's own clients send it.

Errors are read in 1C's shapes and said per stream: ``odata.error`` (its Russian message kept), the
platform's ``exception`` answer, a 401 (user or password), 403 (rights), 404 (the entity set is not
in the interface's composition), and an HTML page from the web server in front (Apache/IIS) instead
of JSON.
"""

from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from connectors.base import Connector
from connectors.errors import AuthError, ConfigError, ConnectorError, FatalError, TransientError

from .schemas import DEFAULT_ENTITIES, OneCConfig, OneCCredentials, entities, properties
from .streams import STREAMS

ODATA_ROOT = "odata/standard.odata"
# Characters of OData literals and paths kept unescaped (as 1C's clients send them); the rest is %-encoded.
SAFE = "'(),=$:/-_.~*"
TITLE = re.compile(r"<title>(.*?)</title>", re.IGNORECASE | re.DOTALL)
# Entity sets whose absence fails a stream (the lookups of units and price types only warn).
OPTIONAL = {"units", "price_types"}


def basic_header(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def odata_message(resp: requests.Response | None) -> str:
    """1C's own words from an error answer: ``odata.error``, the platform's ``exception``, an HTML
    page's title, or the start of the body."""
    if resp is None:
        return ""
    text = resp.text or ""
    if is_html(resp):
        title = TITLE.search(text)
        found = re.sub(r"\s+", " ", title.group(1)).strip() if title else text.strip()[:80]
        return f"the web server answered an HTML page ({found!r}) instead of 1C's OData JSON"
    try:
        data = resp.json()
    except ValueError:
        return text.strip()[:300] or (resp.reason or "")
    if isinstance(data, dict):
        error = data.get("odata.error")
        if isinstance(error, dict):
            message = error.get("message")
            value = message.get("value") if isinstance(message, dict) else message
            return f"1C error {error.get('code', '?')}: {value or ''}".strip()
        exc = data.get("exception")
        if isinstance(exc, dict):
            inner = exc.get("inner") if isinstance(exc.get("inner"), dict) else {}
            descr = "; ".join(str(d) for d in (exc.get("descr"), inner.get("descr")) if d)
            return f"1C platform exception: {descr}"
    return str(data)[:300]


def is_html(resp: requests.Response) -> bool:
    kind = resp.headers.get("Content-Type", "").lower()
    return "html" in kind or (resp.text or "").lstrip()[:15].lower().startswith(("<!doctype html", "<html"))


class OneCConnector(Connector):
    provider = "1c"
    display_name = "1C:Enterprise (OData)"
    integration_type = "erp"
    credentials_serializer = OneCCredentials
    config_serializer = OneCConfig
    secret_fields = ("password",)
    streams = STREAMS

    @property
    def base_url(self) -> str:
        """The OData root: the publication's URL plus ``odata/standard.odata`` (given or appended)."""
        base = (self.integration.base_url or "").rstrip("/")
        if base.endswith(ODATA_ROOT):
            return base
        # A URL given up to ".../odata" (as in the source document's example) means that publication's root.
        return f"{base}/standard.odata" if base.endswith("/odata") else f"{base}/{ODATA_ROOT}"

    @property
    def config(self) -> dict[str, Any]:
        return {**self.validate_config({}), **(self.integration.config or {})}

    def entity(self, stream: str) -> str:
        return entities(self.config)[stream]

    def prop(self, name: str) -> str:
        return properties(self.config)[name]

    def auth_headers(self, token: dict[str, Any] | None) -> dict[str, str]:
        creds = self.integration.credentials or {}
        if not creds.get("username"):
            raise ConfigError("1C needs an infobase user name (and its password, if it has one)")
        return {"Authorization": basic_header(str(creds["username"]), str(creds.get("password") or "")),
                "Accept": "application/json"}

    # --- calls -----------------------------------------------------------------------------------
    def get(self, resource: str, query: dict[str, Any] | None = None, *, action: str,
            what: str = "") -> dict[str, Any]:
        """One GET of ``resource`` (an entity set, a key, a virtual table) with ``$format=json``."""
        if not (self.integration.base_url or "").strip():
            raise ConfigError("1C needs the base URL of the infobase's publication, e.g. https://1c.example/trade")
        options = {"$format": "json", **{k: v for k, v in (query or {}).items() if v not in (None, "")}}
        url = f"{quote(resource, safe=SAFE)}?" + "&".join(f"{k}={quote(str(v), safe=SAFE)}" for k, v in options.items())
        what = what or resource.split("/")[0].split("(")[0]
        try:
            resp = self.http.request("GET", url, action=action)
        except ConnectorError as exc:
            raise self._explain(exc, what) from None
        if is_html(resp):
            raise FatalError(f"{what}: {odata_message(resp)}: is the base URL the publication's address?",
                             status_code=resp.status_code)
        try:
            data = resp.json()
        except ValueError:
            raise FatalError(f"{what}: 1C answered something that is not JSON ({resp.text[:80]!r})",
                             status_code=resp.status_code) from None
        if not isinstance(data, dict):
            raise FatalError(f"{what}: 1C answered JSON that is not an object", status_code=resp.status_code)
        return data

    def get_list(self, resource: str, query: dict[str, Any] | None = None, *, action: str,
                 what: str = "") -> list[dict[str, Any]]:
        data = self.get(resource, query, action=action, what=what)
        rows = data.get("value")
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise FatalError(f"{what or resource}: 1C's answer has no list of objects in 'value'")
        return rows

    def _explain(self, exc: ConnectorError, what: str) -> ConnectorError:
        """The HTTP client's typed error, re-said in 1C's terms for the stream reading ``what``."""
        resp = getattr(exc, "response", None)
        said = odata_message(resp) if resp is not None else exc.message
        status = exc.status_code
        if status == 401:
            return AuthError(f"{what}: 1C refused the user name or password (401); check the credentials and that "
                             f"the user may use the standard OData interface", status_code=401)
        if status == 403:
            return ConfigError(f"{what}: the 1C user has no right to read it (403: {said})", status_code=403)
        if status == 404:
            return ConfigError(f"{what} is not published in this infobase's standard OData interface (404: {said}); "
                               f"add it to the interface's composition or set its name in the integration's "
                               f"config \"mapping\"", status_code=404)
        if isinstance(exc, TransientError):
            return TransientError(f"{what}: {said or exc.message}", status_code=status, retry_after=exc.retry_after)
        if resp is None:
            return exc
        cls = ConfigError if status == 400 else FatalError  # a 400: a property or entity the base does not have
        return cls(f"{what}: {said} ({status})", status_code=status)

    # --- operations ------------------------------------------------------------------------------
    def published(self) -> list[str]:
        return [str(r.get("name") or r.get("url")) for r in self.get_list("", action="1c.service", what="service root")]

    def test_connection(self) -> str:
        names = set(self.published())
        mapping = entities(self.config)
        used = {stream: entity for stream, entity in mapping.items() if entity}
        missing = sorted({e for s, e in used.items() if e not in names and s not in OPTIONAL})
        if missing:
            raise ConfigError(f"Connected to 1C at {urlsplit(self.base_url).netloc}, but these entity sets are not "
                              f"in the standard OData interface: {', '.join(missing)} (add them to its composition "
                              f"or set the names in config \"mapping\")")
        return (f"Connected to 1C at {urlsplit(self.base_url).netloc}: {len(names)} published entity set(s), "
                f"all {len(set(used.values()))} this integration reads among them.")


__all__ = ["DEFAULT_ENTITIES", "OneCConnector", "basic_header", "odata_message"]
