"""``manage.py rotate_encryption_key [--check]``: move every secret to the newest key in ENCRYPTION_KEYS.

Procedure: put the new key first in ENCRYPTION_KEYS (keep the old ones after it), restart, run this
command, check that every count is under the new key id, then remove the old keys.
"""

from collections import Counter

from django.core.management.base import BaseCommand, CommandError

from integrations.crypto import key_ring
from integrations.rotation import EMPTY, INVALID, rotate_all


class Command(BaseCommand):
    help = "Re-encrypt every encrypted column of every model under the newest key; --check only reports."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--check", action="store_true", help="Only count values per key id; change nothing")
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, check: bool, batch_size: int, **options) -> None:
        primary = key_ring().primary_id
        self.stdout.write(f"Primary key: {primary}{' (check only)' if check else ''}")
        totals: Counter = Counter()
        rotated = failed = 0
        for report in rotate_all(check=check, batch_size=batch_size):
            counts = ", ".join(f"{k}={n}" for k, n in sorted(report.by_key.items())) or "no rows"
            line = f"  {report.label}: {counts}"
            if not check:
                line += f"; re-encrypted {report.rotated}"
            self.stdout.write(line)
            for error in report.errors[:10]:
                self.stderr.write(f"    {error}")
            totals.update(report.by_key)
            rotated, failed = rotated + report.rotated, failed + report.failed
        pending = sum(n for k, n in totals.items() if k not in (primary, EMPTY, INVALID))
        self.stdout.write("Totals: " + (", ".join(f"{k}={n}" for k, n in sorted(totals.items())) or "no rows"))
        if check:
            self.stdout.write(f"{pending} value(s) not under the primary key {primary}.")
        else:
            self.stdout.write(f"Re-encrypted {rotated} value(s) under {primary}.")
        if failed:
            raise CommandError(f"{failed} value(s) could not be decrypted with any key in ENCRYPTION_KEYS")
