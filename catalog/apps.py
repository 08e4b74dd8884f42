from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Sigma rule catalog"

    def ready(self):
        from django.db.models.signals import post_delete, post_migrate, post_save

        from catalog.models import Rule
        from catalog.publishing.versioning import bump_version
        from catalog.publishing.visibility import publish

        def catalog_changed(sender, **kwargs):
            bump_version()

        def rule_deleted(sender, **kwargs):
            publish()  # the live set changed; once per deletion inside catalog.publishing.deletion.deleting()

        # Curation saves go through Rule.save(); imports bump the version themselves (raw SQL).
        post_save.connect(catalog_changed, sender=Rule, dispatch_uid="catalog-version-save")
        post_delete.connect(rule_deleted, sender=Rule, dispatch_uid="catalog-version-delete")
        # The summary tables are derived data: after any migration (a new table, or a schema change a
        # count depends on) they are rewritten from the rules, with the final schema in place.
        post_migrate.connect(_refresh_summaries, sender=self, dispatch_uid="catalog-summaries-migrate")


def _refresh_summaries(sender, using="default", **kwargs):
    from django.db import connections, transaction

    from catalog.models import CountSummary, Rule
    from catalog.publishing import summaries

    tables = set(connections[using].introspection.table_names())
    if {CountSummary._meta.db_table, Rule._meta.db_table} <= tables:  # not when migrated back before them
        with transaction.atomic(using=using):
            summaries.refresh(fields=True)
