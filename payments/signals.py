"""``payment_state_changed(sender=PaymentTransaction, transaction, old_state, new_state)``: sent inside
the database transaction that changes the state (a receiver's writes commit or roll back with it)."""

from django.dispatch import Signal

payment_state_changed = Signal()
