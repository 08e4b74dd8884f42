"""The "curator" group, and the permission to re-import a source from the admin.

Curators may view rules and change them; the admin makes every Sigma field read-only, so
`change_rule` only ever changes curation fields. They may also view indicators, techniques,
sources and import runs, and nothing else.

Permissions are normally created after all migrations (post_migrate), so they are created here
first; on a fresh database the group would otherwise come out empty.
"""
from django.contrib.auth.management import create_permissions
from django.db import migrations

CURATOR_PERMISSIONS = [
    "view_rule", "change_rule", "view_indicator", "view_technique", "view_source", "view_importrun",
]
REIMPORT = ("reimport_source", "Can re-import a source from the admin")


def create_curator_group(apps, schema_editor):
    app_config = apps.get_app_config("catalog")
    app_config.models_module = True  # create_permissions skips apps without a models module
    try:
        create_permissions(app_config, apps=apps, verbosity=0, using=schema_editor.connection.alias)
    finally:
        app_config.models_module = None
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    source_type = ContentType.objects.get(app_label="catalog", model="source")
    Permission.objects.get_or_create(content_type=source_type, codename=REIMPORT[0], defaults={"name": REIMPORT[1]})
    group, _ = Group.objects.get_or_create(name="curator")
    group.permissions.set(Permission.objects.filter(content_type__app_label="catalog", codename__in=CURATOR_PERMISSIONS))


def remove_curator_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="curator").delete()
    apps.get_model("auth", "Permission").objects.filter(
        content_type__app_label="catalog", codename=REIMPORT[0]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_curator_group, remove_curator_group)]
