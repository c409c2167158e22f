"""Signals other apps subscribe to (e.g. to publish domain events through an outbox).

Both are sent inside the transaction that writes the change, so a receiver that writes rows
(an outbox) commits or rolls back together with it.
"""

from django.dispatch import Signal

# A sync page was written. Arguments: job, integration, model (the model class), result
# (records.upsert.UpsertResult: counts plus created_ids/updated_ids), deleted_ids (external ids
# soft-deleted by this page).
records_written = Signal()

# A sync job ended: completed, failed or cancelled. Arguments: job.
sync_finished = Signal()
