"""Store documents through django-storages, with the local file system as the fallback.

The primary store is ``STORAGES["hub_files"]`` (S3 and compatible, Google Cloud Storage, Azure Blob
or the file system, chosen by ``FILES_BACKEND``); when it fails, the document goes to
``STORAGES["hub_files_fallback"]`` (local) and the row says so. Keys are
``<organization slug>/<kind>/<yyyy>/<mm>/<uuid>-<name>``: one prefix per organization.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
from pathlib import PurePath

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.utils import timezone
from django.utils.text import get_valid_filename

from integrations.models import Organization

from .models import FileKind, StoredFile

log = logging.getLogger("files")

# The first bytes each allowed type must start with (a .pdf that is not a PDF is refused).
MAGIC: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "application/zip": (b"PK\x03\x04", b"PK\x05\x06"),
    "application/gzip": (b"\x1f\x8b",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (b"PK\x03\x04",),
}
TEXT_TYPES = {"text/csv", "text/plain", "application/json"}


class FileRejected(ValueError):
    pass


def validate(name: str, content: bytes, content_type: str = "") -> str:
    """The document's content type if it is allowed and within the size limit; else FileRejected."""
    if not content:
        raise FileRejected("empty file")
    if len(content) > settings.FILES_MAX_BYTES:
        raise FileRejected(f"file is {len(content)} bytes; the limit is {settings.FILES_MAX_BYTES}")
    guessed = mimetypes.guess_type(name)[0] or ""
    content_type = (content_type or guessed or "application/octet-stream").split(";")[0].strip().lower()
    if content_type not in settings.FILES_ALLOWED_TYPES:
        raise FileRejected(f"type {content_type} is not allowed")
    if guessed and guessed != content_type:
        raise FileRejected(f"name {name!r} does not match type {content_type}")
    if content_type in MAGIC and not content.startswith(MAGIC[content_type]):
        raise FileRejected(f"content is not {content_type}")
    if content_type in TEXT_TYPES:
        try:
            content[:65536].decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.end < 65536 or len(content) <= 65536:  # a cut multibyte character at the edge is fine
                raise FileRejected(f"{content_type} must be UTF-8 text") from None
    return content_type


def backend_name(alias: str) -> str:
    path = settings.STORAGES[alias]["BACKEND"]
    return {"storages.backends.s3.S3Storage": "s3", "storages.backends.gcloud.GoogleCloudStorage": "gcs",
            "storages.backends.azure_storage.AzureStorage": "azure"}.get(path, "local")


def store(organization: Organization, name: str, content: bytes, *, kind: str = "other", content_type: str = "",
          metadata: dict | None = None, user=None) -> StoredFile:
    if kind not in FileKind.values:
        raise FileRejected(f"kind must be one of {', '.join(FileKind.values)}")
    content_type = validate(name, content, content_type)
    safe = get_valid_filename(PurePath(name).name)[:120] or "file"
    now = timezone.now()
    row = StoredFile(organization=organization, kind=kind, name=name[:255], content_type=content_type,
                     size=len(content), sha256=hashlib.sha256(content).hexdigest(), metadata=metadata or {},
                     created_by=user)
    key = f"{organization.slug}/{kind}/{now:%Y/%m}/{row.uid}-{safe}"
    for alias in ("hub_files", "hub_files_fallback"):
        try:
            row.key = storages[alias].save(key, ContentFile(content))
        except Exception as exc:  # noqa: BLE001 - any store failure: try the fallback, then give up
            log.warning("file store %s failed for %s: %s", alias, key, exc)
            row.metadata = {**row.metadata, f"{alias}_error": f"{type(exc).__name__}: {exc}"[:500]}
            continue
        row.storage, row.backend = alias, backend_name(alias)
        row.save()
        return row
    raise OSError(f"no file store accepted {name!r}")


def open_content(row: StoredFile) -> bytes:
    with storages[row.storage].open(row.key, "rb") as handle:
        return handle.read()
