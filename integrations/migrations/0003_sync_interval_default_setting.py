from django.db import migrations, models

import integrations.models


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0002_audit_outlives_integration"),
    ]

    operations = [
        migrations.AlterField(
            model_name="integration",
            name="sync_interval_minutes",
            field=models.PositiveIntegerField(default=integrations.models.default_sync_interval,
                                              help_text="0 = manual only."),
        ),
    ]
