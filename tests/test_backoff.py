"""Every retry loop waits by the hub's one backoff policy (integrations.backoff)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from integrations import backoff
from integrations.backoff import backoff_delay


def test_the_policy_grows_exponentially_with_equal_jitter_and_a_cap():
    assert all(1.0 <= backoff_delay(1, base=2, cap=100) <= 2.0 for _ in range(100))
    assert all(4.0 <= backoff_delay(3, base=2, cap=100) <= 8.0 for _ in range(100))
    late = [backoff_delay(30, base=2, cap=10) for _ in range(300)]
    assert all(5.0 <= d <= 10.0 for d in late) and min(late) < 7.5 < max(late)


@pytest.fixture
def fixed_jitter(monkeypatch):
    """The policy with its random half pinned to its top: every loop's wait is then its full step."""
    monkeypatch.setattr(backoff.random, "uniform", lambda low, high: high)


def test_every_retry_loop_uses_the_policy(fixed_jitter, settings):
    from connectors.http import backoff_delay as http_delay
    from webhooks.processing import backoff_seconds

    settings.CONNECTOR_HTTP_BACKOFF_BASE, settings.CONNECTOR_HTTP_BACKOFF_MAX = 0.5, 30.0
    assert http_delay(2) == 0.5 * 2 ** 2  # the third try
    settings.WEBHOOK_RETRY_BACKOFF_BASE, settings.WEBHOOK_RETRY_BACKOFF_MAX = 10, 60
    assert backoff_seconds(3) == 40
    assert backoff_seconds(9) == 60
    assert timedelta(seconds=backoff_seconds(1)) == timedelta(seconds=10)
