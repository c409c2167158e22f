"""Stripe's client_secret was kept in ``PaymentTransaction.raw``: drop it from the rows stored so far.

The field name is written out here (not read from the connector) so the migration stays what it was.
"""

from django.db import migrations

FIELD = "client_secret"


def _strip(value):
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            item.pop(FIELD, None)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return value


def forwards(apps, schema_editor):
    PaymentTransaction = apps.get_model("payments", "PaymentTransaction")
    for tx in PaymentTransaction.objects.filter(provider="stripe").only("raw", "data").iterator(chunk_size=500):
        if FIELD in str(tx.raw) or FIELD in str(tx.data):
            PaymentTransaction.objects.filter(pk=tx.pk).update(raw=_strip(tx.raw), data=_strip(tx.data))


class Migration(migrations.Migration):
    dependencies = [("payments", "0002_ledger_outlives_integration")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
