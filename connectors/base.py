"""The contract every connector implements (one package per provider under ``connectors/``).

A connector declares:
- ``provider``/``display_name``/``integration_type`` and a ``default_base_url``;
- ``credentials_serializer`` and ``config_serializer`` (DRF serializers) that validate what a user
  enters; fields listed in ``secret_fields`` are masked everywhere;
- ``payload_secret_fields``: names of fields in the provider's own payloads (API answers, webhook
  bodies) that hold a secret, e.g. Stripe's ``client_secret``: dropped from every stored copy
  (``strip_payload_secrets``);
- its ``streams``: entity types with full and incremental reads and a mapper to our records;
- optionally token acquisition (``obtain_token``), write-back (``push``) and webhooks
  (``verify_webhook`` / ``handle_webhook``).

Provider quirks stay inside the provider's package; the core never names a provider.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from rest_framework import serializers

from records.rows import RecordRow

from .errors import IgnoredEvent, SignatureError
from .http import HttpClient
from .mapping import MAPPINGS_KEY, MappingConfigError, error_lines, validate_field_mappings

if TYPE_CHECKING:
    from integrations.models import Integration
    from records.upsert import UpsertResult


class StoredEvent(Protocol):
    """What ``handle_webhook`` reads of a stored delivery (the webhooks app's row satisfies it).

    A protocol, not the model: the kit names nothing above the ground.
    """

    pk: Any
    id: Any
    body: bytes
    content_type: str
    event_id: str
    event_type: str


def strip_payload_secrets(payload: Any, names: tuple[str, ...] | frozenset[str]) -> Any:
    """A copy of ``payload`` without any key in ``names``, at any depth (the input is not changed).

    Iterative, so a payload nested thousands deep costs no recursion.
    """
    if not names or not isinstance(payload, dict | list):
        return payload
    names = frozenset(names)
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(payload, root, 0)]  # (source, parent copy, slot in parent)
    while stack:
        source, parent, slot = stack.pop()
        if isinstance(source, dict):
            copy: Any = {}
            for k, v in source.items():
                if k in names:
                    continue
                copy[k] = None
                stack.append((v, copy, k))
        elif isinstance(source, list):
            copy = [None] * len(source)
            stack.extend((v, copy, i) for i, v in enumerate(source))
        else:
            copy = source
        parent[slot] = copy
    return root[0]


@dataclass
class Page:
    """One page of a stream read. Its ``cursor`` is checkpointed once the page is committed."""

    records: list[dict[str, Any]]
    cursor: dict[str, Any] | None = None
    deleted_ids: list[str] = field(default_factory=list)
    # Models (besides the stream's own) whose rows this page also carries, e.g. order lines.
    extra: dict[str, list[RecordRow]] = field(default_factory=dict)
    # Mapped, hashed and coerced ahead of the write (syncjobs.prefetch), or None.
    prepared: Any = None
    # How many records the whole read holds, when the provider says (the progress bar's percentage).
    total: int | None = None


@dataclass
class SyncContext:
    integration: Integration
    connector: Connector
    http: HttpClient
    job: Any = None  # the runner's SyncJob row (the kit does not import the orchestrator)
    # What a stream remembers for the rest of its run (e.g. the ids it has checked already).
    scratch: dict[str, Any] = field(default_factory=dict)

    @property
    def config(self) -> dict[str, Any]:
        return self.integration.config or {}


DeleteStrategy = Literal["removed_ids", "full_scan", "none"]


class Stream:
    """An entity type a connector reads. Subclass, or construct with a ``read`` and ``mapper``."""

    name: str = ""
    model: str = ""  # "records.Product"
    supports_incremental: bool = True
    # removed_ids: the provider lists deleted ids; full_scan: ids not seen in a full run are deleted.
    delete_strategy: DeleteStrategy = "none"
    # full_scan in a table other streams write too: the filter that picks this stream's rows.
    delete_scope: dict[str, Any] | None = None
    # Streams that must be synced first (their records are referenced by this one).
    depends_on: tuple[str, ...] = ()
    # Runner policy a stream opts into: read and prepare the next page in a thread while the runner
    # writes this one (worth it where the provider's latency is long against the database's time).
    prefetch: bool = False

    def read(self, ctx: SyncContext, cursor: dict[str, Any] | None, full: bool) -> Iterator[Page]:
        """Yield pages from ``cursor`` (None or ``full``: from the beginning)."""
        raise NotImplementedError

    def map(self, raw: dict[str, Any]) -> RecordRow:
        """Map one source record; raise MappingError for a record that cannot be mapped."""
        raise NotImplementedError

    def wants_prefetch(self, ctx: SyncContext) -> bool:
        """Whether the runner prefetches this stream's pages for this integration (default: ``prefetch``)."""
        return self.prefetch

    def after_write(self, integration: Integration, result: UpsertResult, deleted_ids: list[str]) -> None:
        """Hook the runner calls after it wrote a page (its rows, extra rows and deletions), inside the
        page's transaction: for what follows from a write, e.g. soft-deleting child rows that the
        parent's latest version no longer lists. ``result`` is the upsert of the stream's own model.
        Default: nothing.
        """


@dataclass
class WebhookDelivery:
    """What verification learned about a delivery, before anything is processed."""

    event_id: str = ""  # the provider's event/delivery id; "" falls back to the body hash
    event_type: str = ""


@dataclass
class WebhookOutcome:
    """What a handled webhook event asks the hub to write: the webhooks app applies it (records.upsert)
    in the event's transaction, each model's rows in the order they were added, then the deletions.

    A provider reads (its API, the records already stored) and returns this; it writes nothing itself.
    A row that fails to write fails the event (it is retried), as a failing read does.
    """

    summary: list[str] = field(default_factory=list)  # what the handler found, e.g. "product 7 is gone"
    upserts: dict[str, dict[str, RecordRow]] = field(default_factory=dict)  # model label -> external id -> row
    deletions: dict[str, list[str]] = field(default_factory=dict)  # model label -> external ids to soft-delete

    def upsert(self, model: str, rows: list[RecordRow]) -> None:
        """Write ``rows`` of ``model`` (a later row of the same external id replaces an earlier one)."""
        bucket = self.upserts.setdefault(model, {})
        for row in rows:
            bucket[str(row.external_id)] = row

    def delete(self, model: str, external_ids: list[str]) -> None:
        """Soft-delete these records of ``model``."""
        self.deletions.setdefault(model, []).extend(external_ids)

    def note(self, text: str) -> None:
        self.summary.append(text)


@dataclass
class InboundRequest:
    """The raw delivery as received: verification works on these bytes, never on parsed JSON."""

    headers: Mapping[str, str]  # lower-cased names
    body: bytes
    content_type: str = ""
    query: Mapping[str, str] = field(default_factory=dict)
    remote_ip: str = ""


class Connector:
    provider: ClassVar[str] = ""
    display_name: ClassVar[str] = ""
    integration_type: ClassVar[str] = "api"
    default_base_url: ClassVar[str] = ""
    credentials_serializer: ClassVar[type[serializers.Serializer] | None] = None
    config_serializer: ClassVar[type[serializers.Serializer] | None] = None
    secret_fields: ClassVar[tuple[str, ...]] = ()
    # Secret fields of the provider's payloads, at any depth: never stored, never served again.
    payload_secret_fields: ClassVar[tuple[str, ...]] = ()
    streams: ClassVar[dict[str, Stream]] = {}
    # Streams built per integration from its config (``streams_for``), not declared on the class.
    configured_streams: ClassVar[bool] = False
    # Provider-wide request budget shared by all workers: (requests, per seconds) or None.
    rate_limit: ClassVar[tuple[int, float] | None] = None
    # Ask webhook senders for a 2xx even on rejected deliveries (providers that disable a hook on 4xx).
    webhook_reject_status: ClassVar[int | None] = None

    def __init__(self, integration: Integration):
        self.integration = integration
        self.http = HttpClient(integration, self)

    # --- configuration ---------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return (self.integration.base_url or self.default_base_url).rstrip("/")

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        if cls.config_serializer is None:
            validated = dict(config or {})
        else:
            ser = cls.config_serializer(data=config or {})
            ser.is_valid(raise_exception=True)
            validated = dict(ser.validated_data)
        # Staff field mappings of the class's streams, kept through the provider's own schema.
        mappings = (config or {}).get(MAPPINGS_KEY)
        if mappings is not None and not cls.configured_streams:
            try:
                validated[MAPPINGS_KEY] = validate_field_mappings(
                    mappings, {name: stream.model for name, stream in cls.streams.items()})
            except MappingConfigError as exc:
                raise serializers.ValidationError({MAPPINGS_KEY: error_lines(exc.errors)}) from None
        return validated

    @classmethod
    def validate_credentials(cls, credentials: dict[str, Any]) -> dict[str, Any]:
        if cls.credentials_serializer is None:
            return credentials or {}
        ser = cls.credentials_serializer(data=credentials or {})
        ser.is_valid(raise_exception=True)
        return dict(ser.validated_data)

    @classmethod
    def all_secret_fields(cls) -> tuple[str, ...]:
        declared = set(cls.secret_fields)
        if cls.credentials_serializer is not None:
            declared |= set(cls.credentials_serializer().fields)
        return tuple(sorted(declared))

    @classmethod
    def streams_for(cls, integration: Integration) -> dict[str, Stream]:
        """The streams of one integration: the class's ``streams``, or (a connector configured per
        integration, e.g. the generic REST one) streams built from its config. Never raises for a
        stored config: a stream that cannot be built is left out (its jobs then fail as unknown)."""
        return cls.streams

    # --- auth --------------------------------------------------------------------------------
    def obtain_token(self) -> dict[str, Any] | None:
        """Fetch a fresh token from the provider: ``{"access_token": ..., "expires_at": epoch}``.

        Return None for providers that sign each request instead (``auth_headers`` then uses
        credentials directly). Called by the HTTP client under a per-integration lock.
        """
        return None

    def auth_headers(self, token: dict[str, Any] | None) -> dict[str, str]:
        if token and token.get("access_token"):
            return {"Authorization": f"Bearer {token['access_token']}"}
        return {}

    def release_token(self, token: dict[str, Any]) -> None:
        """Give a token back (providers whose tokens hold a licence seat). Default: nothing."""

    def releases_tokens(self) -> bool:
        """Whether this connector gives tokens back (it implements ``release_token``)."""
        return type(self).release_token is not Connector.release_token

    # --- operations ------------------------------------------------------------------------
    def test_connection(self) -> str:
        """Prove the credentials work (e.g. obtain a token and read one page); return a message."""
        raise NotImplementedError

    def push(self, entity: str, record: Any) -> str:
        """Write one of our records to the provider; return its external id."""
        raise NotImplementedError(f"{self.display_name} does not support write-back")

    # --- webhooks ----------------------------------------------------------------------------
    @classmethod
    def callback_url(cls, integration: Integration) -> str:
        """The one URL the provider calls for this integration (shown in the API and admin).

        Default: the generic, store-then-process webhook receiver. A provider whose callbacks need
        a synchronous protocol answer (e.g. a payment gateway's JSON-RPC) serves its own route from
        its package's ``urls.py`` and returns that URL here.
        """
        return integration.webhook_url

    def verify_webhook(self, request: InboundRequest, secret: str) -> WebhookDelivery:
        """Check the signature on the raw bytes; raise SignatureError / RejectedPayload."""
        raise SignatureError(f"{self.display_name} does not accept webhooks")

    def handle_webhook(self, event: StoredEvent) -> str | WebhookOutcome:
        """Process one stored, verified event (in a worker): return a short outcome message, or the
        records to write as a ``WebhookOutcome`` (the webhooks app writes them and records the counts).

        Raise IgnoredEvent for a plausible event we do not handle, ConnectorError to retry.
        """
        raise IgnoredEvent(f"{event.event_type or 'event'} is not handled")
