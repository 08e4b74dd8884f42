"""When the catalog last changed: the Last-Modified of every public page and API response."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0009_search"),
    ]

    operations = [
        migrations.AddField(
            model_name="catalogversion",
            name="changed_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
    ]
