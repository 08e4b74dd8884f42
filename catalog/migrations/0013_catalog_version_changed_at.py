"""When the catalog last changed: the Last-Modified of every public page and API response."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0012_summaries"),
    ]

    operations = [
        migrations.AddField(
            model_name="catalogversion",
            name="changed_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
    ]
