"""Issue 15's behaviour guarantees: settings say, not guess; a provider acts after a write through its
stream's hook, not a signal receiver; the default schedule comes from SYNC_DEFAULT_INTERVAL_MINUTES."""

from __future__ import annotations

import os
import subprocess
import sys
import weakref

import pytest

from tests.conftest import ROOT


def test_settings_neither_sniff_argv_nor_make_folders(tmp_path):
    var = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO", "TESTING"))}
    env.update(HUB_VAR_DIR=str(var), DEBUG="true", DJANGO_SETTINGS_MODULE="config.settings")
    code = "import sys; sys.argv[0] = '/usr/bin/pytest'; import pytest; import config.settings as s; print(s.TESTING)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"  # pytest's name in argv or sys.modules does not switch tests on
    assert not var.exists()  # folders are made when Django starts (config.apps), not at import


def test_no_provider_package_listens_to_the_runners_signals():
    from syncjobs.signals import records_written, sync_finished

    for signal in (records_written, sync_finished):
        receivers = [entry[1] for entry in signal.receivers]
        receivers = [r() if isinstance(r, weakref.ReferenceType) else r for r in receivers]
        modules = {getattr(r, "__module__", "") for r in receivers if r is not None}
        assert modules  # the orchestration apps' own receivers are there
        assert not {m for m in modules if m.startswith("connectors.")}, modules


def test_streams_that_act_after_a_write_say_so_through_the_hook():
    from connectors.base import Stream
    from connectors.iiko.streams import STREAMS as IIKO
    from connectors.kiotviet.streams import STREAMS as KIOTVIET

    assert type(KIOTVIET["products"]).after_write is not Stream.after_write
    assert type(IIKO["invoices"]).after_write is not Stream.after_write


@pytest.mark.postgres
def test_a_new_integration_is_scheduled_by_sync_default_interval_minutes(api, settings):
    settings.SYNC_DEFAULT_INTERVAL_MINUTES = 45
    response = api.post("/api/v1/integrations", {
        "name": "Demo", "code": "demo-45", "type": "inventory", "provider": "demo",
        "credentials": {"client_id": "acme", "client_secret": "acme-secret"},
    }, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["sync_interval_minutes"] == 45
