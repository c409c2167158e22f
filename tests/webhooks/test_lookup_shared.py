"""A changed webhook secret reaches every receiving process quickly, not after the lookup cache's TTL.

Web runs several processes, each with its own short-lived lookup cache; the process that saves an
integration tells the others through the shared cache (the embedded on-disk cache here).
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT, _worker_env

pytestmark = [pytest.mark.postgres]


@pytest.mark.django_db(transaction=True)
def test_a_secret_changed_in_another_process_is_seen_within_half_a_second(org, settings, tmp_path):
    from integrations.models import Integration
    from webhooks import lookup

    settings.CACHES = {"default": {"BACKEND": "diskcache.DjangoCache", "LOCATION": str(tmp_path / "cache"),
                                   "SHARDS": 4, "DATABASE_TIMEOUT": 5.0}}  # as config/settings.py
    settings.WEBHOOK_KEY_CACHE_SECONDS = 300  # the TTL alone would keep the old secret for minutes
    integ = Integration.objects.create(organization=org, name="Hook", code="hook", provider="webhook",
                                       type="webhook", webhook_secret="old-secret",
                                       config={"signature_scheme": "hmac-sha256-hex"})
    lookup.clear()
    assert lookup.target_for(integ.webhook_key).secret == "old-secret"

    env = _worker_env()
    env.update(TESTING="false", REDIS_URL="", HUB_CACHE_DIR=str(tmp_path / "cache"))
    script = ("import django; django.setup()\nfrom integrations.models import Integration\n"
              f"i = Integration.objects.get(pk={integ.pk}); i.webhook_secret = 'new-secret'; i.save()")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"})
    assert done.returncode == 0, done.stderr

    time.sleep(lookup.GENERATION_CHECK_SECONDS + 0.1)
    assert lookup.target_for(integ.webhook_key).secret == "new-secret"
