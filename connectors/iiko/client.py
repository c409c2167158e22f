"""The iiko connector: SHA-1 login, one token per job given back at its end, XML and JSON reads.

Licence seats: every live iiko token holds one of the customer's API seats until it is logged out
(or idle for about an hour). So a token is obtained once per job, reused for every call, renewed
only on a 401 or when our clock says it expired (the older token is logged out first), and logged
out at the end of every job by ``HttpClient.release`` -> ``release_token``, also when it fails.
The login itself is never retried once it may have reached the server: a lost answer would leave
a seat taken by a token we never saw.
"""

from __future__ import annotations

import hashlib
import re
import time
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings

from connectors.base import Connector
from connectors.errors import AuthError, ConfigError, ConnectorError, FatalError, TransientError
from integrations.models import Integration

from . import xmlparse
from .schemas import IikoConfig, IikoCredentials
from .streams import STREAMS

API = "resto/api/"
# iiko drops a session about an hour after its last request; we renew a little earlier.
SESSION_SECONDS = 50 * 60
TOKEN = re.compile(r"[0-9A-Za-z-]{8,80}")
LICENCE_FULL = "no connections available"  # 403 text when every API seat is taken
LICENCE_WAIT_SECONDS = 60.0


def password_hash(password: str) -> str:
    """iiko's ``pass``: the lowercase SHA-1 hex of the UTF-8 password, with no prefix."""
    return hashlib.sha1(password.encode(), usedforsecurity=False).hexdigest()  # iiko's protocol, not our choice


class IikoConnector(Connector):
    provider = "iiko"
    display_name = "iiko (iikoServer)"
    integration_type = "erp"
    credentials_serializer = IikoCredentials
    config_serializer = IikoConfig
    secret_fields = ("password",)
    streams = STREAMS
    # iiko asks for one request at a time per server: a job's calls are sequential, and jobs of one
    # integration run one after another in their chain.
    rate_limit = None

    @property
    def base_url(self) -> str:
        """The server's root: ``https://chain.iiko.it`` (a trailing ``/resto`` is accepted too)."""
        base = (self.integration.base_url or f"{settings.HUB_PUBLIC_URL}/sandbox/iiko").rstrip("/")
        return base[: -len("/resto")] if base.endswith("/resto") else base

    @property
    def config(self) -> dict[str, Any]:
        return {**self.validate_config({}), **(self.integration.config or {})}

    # --- auth ------------------------------------------------------------------------------------
    def obtain_token(self) -> dict[str, Any]:
        creds = self.integration.credentials or {}
        if not creds.get("login") or not creds.get("password"):
            raise ConfigError("iiko needs a login and a password")
        self._logout_cached()
        try:
            resp = self.http.request("POST", f"{API}auth", action="iiko.auth", auth=False, secret_response=True,
                                     data={"login": creds["login"], "pass": password_hash(creds["password"])})
        except AuthError as exc:
            raise AuthError(f"iiko refused the login or password ({exc.message})",
                            status_code=exc.status_code) from None
        except FatalError as exc:
            raise self._licence_error(exc) from None
        token = xmlparse.check_not_html(resp).decode("utf-8", "replace").strip()
        if not TOKEN.fullmatch(token):
            raise FatalError(f"iiko's auth answered something that is not a token: {token[:60]!r}")
        return {"access_token": token, "expires_at": int(time.time()) + SESSION_SECONDS}

    def _logout_cached(self) -> None:
        """Log out the token still cached (expired by our clock, or refused with a 401) before a new login."""
        cached = Integration.objects.filter(pk=self.integration.pk).values_list("token_cache", flat=True).first()
        if cached and cached.get("access_token"):
            self.release_token(cached)

    def release_token(self, token: dict[str, Any]) -> None:
        try:
            # A logout of a token this process never held (another job's) may echo it: mask the answer.
            self.http.request("GET", f"{API}logout", action="iiko.logout", auth=False, secret_response=True,
                              params={"key": token["access_token"]})
        except AuthError:
            pass  # already gone (expired, or the server restarted): its seat is free

    @staticmethod
    def _licence_error(exc: FatalError) -> ConnectorError:
        if exc.status_code == 403 and LICENCE_FULL in exc.message:
            # Seats free themselves (logout or ~1 h idle): worth retrying later, and worth saying why.
            return TransientError(f"iiko licence: every API seat is taken ({exc.message}); a token not logged "
                                  f"out holds its seat for up to an hour", status_code=403,
                                  retry_after=LICENCE_WAIT_SECONDS)
        if exc.status_code == 403:
            return ConfigError(f"iiko refused access (licence or rights): {exc.message}", status_code=403)
        return exc

    # --- calls -----------------------------------------------------------------------------------
    def call(self, method: str, path: str, *, action: str, params: dict[str, Any] | None = None,
             data: dict[str, Any] | None = None) -> requests.Response:
        """One API call with the token as the ``key`` query parameter, renewed once on a 401."""

        def send(token: dict[str, Any]) -> requests.Response:
            return self.http.request(method, f"{API}{path}", action=action, auth=False, idempotent=True,
                                     params={**(params or {}), "key": token["access_token"]}, data=data)

        token = self.http.token()
        try:
            try:
                return send(token)
            except AuthError:
                # The session expired (idle ~1 h) or the server restarted: log in again, once. A refused
                # login raises AuthError from here: the credentials are wrong.
                fresh = self.http.renew_token(stale=token)
            try:
                return send(fresh)
            except AuthError as exc:
                # The login just worked, so this is no credentials problem: the new session was dropped
                # too (another job of this integration logged it out at its end, or a restart).
                raise TransientError(f"iiko dropped the session again right after a login: {exc.message}",
                                     status_code=401) from None
        except FatalError as exc:
            raise self._licence_error(exc) from None

    def get_xml_list(self, path: str, root: str, item: str, *, action: str, params: dict[str, Any] | None = None,
                     force_list: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        return xmlparse.parse_list(self.call("GET", path, action=action, params=params), root, item, force_list)

    def get_json_list(self, path: str, *, action: str, params: dict[str, Any] | None = None,
                      form: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        method = "POST" if form is not None else "GET"
        return xmlparse.parse_json_list(self.call(method, path, action=action, params=params, data=form))

    # --- operations ------------------------------------------------------------------------------
    def test_connection(self) -> str:
        try:
            self.http.renew_token(stale=self.integration.token_cache)  # prove the credentials, not a cached token
            items = self.get_xml_list("corporation/departments", "corporateItemDtoes", "corporateItemDto",
                                      action="iiko.test")
        finally:
            self.http.release()  # a connection test must not keep a licence seat either
        restaurants = sum(1 for i in items if xmlparse.text(i.get("type")) == "DEPARTMENT")
        # Not the login: it is a credential, and would be masked in the message anyway.
        return f"Connected to iiko at {urlsplit(self.base_url).netloc}: " \
               f"{restaurants} restaurant(s) in {len(items)} corporate item(s); the session was logged out."

    def search_suppliers(self, name: str) -> list[dict[str, Any]]:
        """Suppliers whose name contains ``name``, asked of the server (``suppliers/search``)."""
        try:
            found = self.get_xml_list("suppliers/search", "employees", "employee", action="iiko.suppliers.search",
                                      params={"name": name})
        finally:
            self.http.release()
        return found
