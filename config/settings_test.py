"""Settings of the test suite (pytest's DJANGO_SETTINGS_MODULE): the environment's, with the test switch on.

Worker processes that tests start inherit the switch through the environment.
"""

import os

os.environ.setdefault("TESTING", "true")

from .settings import *  # noqa: E402,F403
