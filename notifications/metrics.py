"""The per-process counter of notification sends (exported by health's ``/metrics``).

It lives with the app that counts, so notifications imports nothing above it; health reads it.
"""

from __future__ import annotations

from prometheus_client import Counter

# In this process only: notifications sent through this process, by provider and outcome.
NOTIFICATIONS = Counter("hub_process_notifications", "Notification send attempts in this process",
                        ["provider", "channel", "outcome"])
