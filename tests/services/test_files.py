"""Files: an S3-compatible server on loopback (moto, server mode), validation, the local fallback."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config

from files.models import StoredFile
from files.storage import FileRejected, open_content, store

from .conftest import closed_port

pytestmark = [pytest.mark.postgres]
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"


def _s3_settings(settings, endpoint: str, bucket: str, tmp_path, **options) -> None:
    settings.FILES_BACKEND = "s3"
    settings.STORAGES = {
        **settings.STORAGES,
        "hub_files": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
            "bucket_name": bucket, "endpoint_url": endpoint, "region_name": "us-east-1", "access_key": "test",
            "secret_key": "test", "default_acl": None, "file_overwrite": False, **options}},
        "hub_files_fallback": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                               "OPTIONS": {"location": str(tmp_path / "fallback")}},
    }


@pytest.fixture
def bucket(s3_server) -> str:
    name = "hub-files"
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1", aws_access_key_id="test",
                          aws_secret_access_key="test")
    try:
        client.create_bucket(Bucket=name)
    except client.exceptions.BucketAlreadyOwnedByYou:
        pass
    return name


def test_an_invoice_pdf_goes_to_s3_under_the_organizations_prefix(org, settings, s3_server, bucket, tmp_path):
    _s3_settings(settings, s3_server, bucket, tmp_path)
    row = store(org, "INV 001.pdf", PDF, kind="invoice", metadata={"invoice": "INV-001"})
    assert row.backend == "s3" and row.storage == "hub_files"
    assert row.key.startswith("acme/invoice/") and row.key.endswith("-INV_001.pdf")
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1", aws_access_key_id="test",
                          aws_secret_access_key="test")
    head = client.head_object(Bucket=bucket, Key=row.key)
    assert head["ContentLength"] == len(PDF)
    assert open_content(row) == PDF
    assert row.content_type == "application/pdf" and len(row.sha256) == 64
    assert StoredFile.objects.get().metadata == {"invoice": "INV-001"}


def test_s3_down_falls_back_to_the_local_store_and_says_so(org, settings, tmp_path):
    _s3_settings(settings, f"http://127.0.0.1:{closed_port()}", "hub-files", tmp_path,
                 client_config=Config(connect_timeout=1, retries={"max_attempts": 1}))
    row = store(org, "report.csv", b"sku,qty\nA,1\n", kind="report")
    assert row.storage == "hub_files_fallback" and row.backend == "local"
    assert "hub_files_error" in row.metadata
    assert (tmp_path / "fallback" / row.key).read_bytes() == b"sku,qty\nA,1\n"


@pytest.mark.parametrize(("name", "content", "ctype", "reason"), [
    ("a.pdf", b"not a pdf", "", "content is not application/pdf"),
    ("a.exe", b"MZ....", "", "not allowed"),
    ("a.csv", b"\xff\xfe\x00bad", "", "UTF-8"),
    ("a.csv", b"x", "application/pdf", "does not match"),
    ("a.txt", b"", "", "empty"),
    ("a.txt", b"x", "text/plain; charset=utf-8", "kind must be one of"),
])
def test_type_and_content_are_validated(org, name, content, ctype, reason):
    kind = "a-kind-that-does-not-exist" if reason.startswith("kind") else "other"
    with pytest.raises(FileRejected, match=reason):
        store(org, name, content, content_type=ctype, kind=kind)
    assert not StoredFile.objects.exists()


def test_size_limit(org, settings):
    settings.FILES_MAX_BYTES = 10
    with pytest.raises(FileRejected, match="limit"):
        store(org, "big.txt", b"x" * 11)
