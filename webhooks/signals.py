"""Signals other apps subscribe to; sent inside the transaction that records the outcome."""

from django.dispatch import Signal

# A webhook event failed for good (retries exhausted). Arguments: event.
webhook_failed = Signal()
