"""The one backoff policy of every retry loop: provider calls, sync jobs, webhook processing, event
deliveries and notification rounds.

Exponential from ``base``, capped at ``cap``, with "equal jitter": the wait is uniform in the upper
half of the step. The lower half that is kept makes each retry wait at least half of its step (a
failing provider is not hit again at once); the random half spreads the retries of a burst so they
do not arrive as a burst again.
"""

from __future__ import annotations

import random


def backoff_delay(attempt: int, *, base: float, cap: float) -> float:
    """Seconds to wait before retry ``attempt`` (1 = the first retry), in [step / 2, step],
    where step = min(cap, base * 2 ** (attempt - 1))."""
    step = min(float(cap), float(base) * 2 ** max(0, attempt - 1))
    return step * random.uniform(0.5, 1.0)
