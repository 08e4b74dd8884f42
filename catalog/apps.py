from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Sigma rule catalog"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from catalog.models import CatalogVersion, Rule

        def catalog_changed(sender, **kwargs):
            CatalogVersion.bump()

        # Curation saves go through Rule.save(); imports bump the version themselves (raw SQL).
        post_save.connect(catalog_changed, sender=Rule, dispatch_uid="catalog-version-save")
        post_delete.connect(catalog_changed, sender=Rule, dispatch_uid="catalog-version-delete")
