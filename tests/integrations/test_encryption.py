"""Secrets at rest: never plaintext in any column, tamper-evident, fresh nonces, rotation under load of old keys."""

from __future__ import annotations

import base64
import os

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from integrations.crypto import DecryptionError, key_id_of, key_ring
from integrations.models import CredentialAudit, Integration, IntegrationLog

from .conftest import ALL_SECRETS, CLIENT_SECRET, integration_payload

pytestmark = pytest.mark.django_db

TEXT_TYPES = ("text", "character varying", "json", "jsonb", "bytea", "character")


def new_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def raw_tokens(pk: int) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT credentials, webhook_secret, token_cache FROM integrations_integration WHERE id = %s", [pk]
        )
        row = cursor.fetchone()
    return dict(zip(["credentials", "webhook_secret", "token_cache"], row, strict=True))


def find_in_database(needle: str) -> list[str]:
    """Every table.column (text-like, JSON or bytes) of the public schema that contains ``needle``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'public' AND data_type = ANY(%s)",
            [list(TEXT_TYPES)],
        )
        columns = cursor.fetchall()
        hits = []
        for table, column, data_type in columns:
            qn = connection.ops.quote_name
            value = f"encode({qn(column)}, 'escape')" if data_type == "bytea" else f"{qn(column)}::text"
            cursor.execute(f"SELECT 1 FROM {qn(table)} WHERE strpos({value}, %s) > 0 LIMIT 1", [needle])  # noqa: S608
            if cursor.fetchone():
                hits.append(f"{table}.{column}")
    return hits


@pytest.mark.postgres
def test_no_plaintext_secret_in_any_database_column(api, org):
    created = api.post("/api/v1/integrations", integration_payload(), format="json").json()
    api.patch(f"/api/v1/integrations/{created['id']}", {"credentials": {"client_secret": CLIENT_SECRET + "-v2"}},
              format="json")
    integration = Integration.objects.get(pk=created["id"])
    integration.token_cache = {"access_token": "tok-Plaintext-4c1e", "expires_at": 1}
    integration.save()
    api.post(f"/api/v1/integrations/{integration.pk}/sync", {"streams": ["products"]}, format="json")

    for secret in (*ALL_SECRETS, CLIENT_SECRET + "-v2", "tok-Plaintext-4c1e"):
        assert find_in_database(secret) == [], secret
    # The scan does find what is there: the same marker in a plain column is reported.
    IntegrationLog.objects.create(organization=org, integration=integration, action="x", endpoint="marker-Zq81")
    assert find_in_database("marker-Zq81") == ["integrations_integrationlog.endpoint"]


def test_stored_form_is_tagged_aes_gcm_with_key_id(integration):
    for column, token in raw_tokens(integration.pk).items():
        assert token.startswith("enc:v1:"), column
        assert key_id_of(token) == key_ring().primary_id
        blob = base64.urlsafe_b64decode(token.split(":", 3)[3])
        assert len(blob) >= 12 + 16  # nonce + GCM tag at least


def test_tampered_ciphertext_is_refused(integration):
    token = raw_tokens(integration.pk)["credentials"]
    prefix, blob = token.rsplit(":", 1)
    raw = bytearray(base64.urlsafe_b64decode(blob))
    raw[20] ^= 0x01  # one bit of the ciphertext
    tampered = f"{prefix}:{base64.urlsafe_b64encode(bytes(raw)).decode()}"
    with connection.cursor() as cursor:
        cursor.execute("UPDATE integrations_integration SET credentials = %s WHERE id = %s", [tampered, integration.pk])
    with pytest.raises(DecryptionError, match="failed authentication"):
        Integration.objects.get(pk=integration.pk)


def test_ciphertext_moved_to_another_column_does_not_decrypt(integration):
    # The column name is bound in as associated data: a copied token is refused, not misread.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE integrations_integration SET token_cache = credentials WHERE id = %s", [integration.pk])
    with pytest.raises(DecryptionError):
        Integration.objects.get(pk=integration.pk)


def test_unknown_key_id_is_refused(integration):
    token = raw_tokens(integration.pk)["webhook_secret"]
    token = token.replace(f"enc:v1:{key_id_of(token)}:", "enc:v1:gone:")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE integrations_integration SET webhook_secret = %s WHERE id = %s", [token, integration.pk])
    with pytest.raises(DecryptionError, match="no key with id 'gone'"):
        Integration.objects.get(pk=integration.pk)


def test_fresh_nonce_for_every_value(org, make_integration):
    first, second = make_integration(org, code="one"), make_integration(org, code="two")
    a, b = raw_tokens(first.pk), raw_tokens(second.pk)
    assert first.credentials == second.credentials
    assert a["credentials"] != b["credentials"] and a["webhook_secret"] != b["webhook_secret"]
    nonces = {base64.urlsafe_b64decode(t.split(":", 3)[3])[:12] for t in (*a.values(), *b.values())}
    assert len(nonces) == 6
    first.save()  # the same value saved again is encrypted afresh
    assert raw_tokens(first.pk)["credentials"] != a["credentials"]
    first.refresh_from_db()
    assert first.credentials == second.credentials


class TestRotation:
    old, new = new_key(), new_key()

    def make_many(self, org, make_integration, numbers):
        items = []
        for n in numbers:
            items.append(make_integration(
                org, code=f"int-{n}", credentials={"client_id": f"id-{n}", "client_secret": f"secret-{n}"},
                webhook_secret=f"whsec-{n}" if n % 2 else "",
            ))
            items[-1].token_cache = {"access_token": f"tok-{n}"}
            items[-1].save()
        return items

    def key_ids(self) -> set[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT credentials, webhook_secret, token_cache FROM integrations_integration")
            return {key_id_of(t) for row in cursor.fetchall() for t in row if t}

    def test_rotation_moves_everything_and_keeps_it_readable(self, org, make_integration, capsys):
        with override_settings(ENCRYPTION_KEYS=f"old:{self.old}"):
            self.make_many(org, make_integration, range(4))
        # Values from before ENCRYPTION_KEYS was set (the SECRET_KEY-derived key) must move too.
        with override_settings(ENCRYPTION_KEYS=""):
            self.make_many(org, make_integration, range(4, 7))
        assert self.key_ids() == {"old", "sk0"}

        with override_settings(ENCRYPTION_KEYS=f"new:{self.new},old:{self.old}"):
            call_command("rotate_encryption_key", "--check", "--batch-size", "3")
            report = capsys.readouterr().out
            assert "integrations_integration.credentials: new=0" not in report
            assert "integrations_integration.credentials: old=4, sk0=3" in report
            assert self.key_ids() == {"old", "sk0"}  # --check changes nothing

            call_command("rotate_encryption_key", "--batch-size", "3")
            report = capsys.readouterr().out
            # 7 integrations x 3 encrypted columns (an empty webhook secret is encrypted too).
            assert "Re-encrypted 21 value(s) under new" in report
            assert self.key_ids() == {"new"}
            audits = CredentialAudit.objects.filter(action="rotated", via="command")
            assert audits.count() == 7
            assert {tuple(a.fields) for a in audits} == {("credentials", "token_cache", "webhook_secret")}

            call_command("rotate_encryption_key", "--check")
            assert "0 value(s) not under the primary key new" in capsys.readouterr().out

        # Old keys removed: everything still reads.
        with override_settings(ENCRYPTION_KEYS=f"new:{self.new}"):
            for n, integration in enumerate(Integration.objects.order_by("code")):
                assert integration.credentials == {"client_id": f"id-{n}", "client_secret": f"secret-{n}"}
                assert integration.webhook_secret == (f"whsec-{n}" if n % 2 else "")
                assert integration.token_cache == {"access_token": f"tok-{n}"}
        # And the old key alone no longer does: the values really moved.
        with override_settings(ENCRYPTION_KEYS=f"old:{self.old}"), pytest.raises(DecryptionError):
            list(Integration.objects.all())

    def test_value_under_a_missing_key_fails_the_command_loudly(self, org, make_integration):
        with override_settings(ENCRYPTION_KEYS=f"old:{self.old}"):
            make_integration(org)
        with override_settings(ENCRYPTION_KEYS=f"new:{self.new}"), pytest.raises(CommandError, match="could not"):
            call_command("rotate_encryption_key")
