"""Who may do what beyond Django's model permissions: view-only models and re-importing sources."""

from __future__ import annotations

from django.contrib import admin

REIMPORT_PERMISSION = "catalog.reimport_source"


def can_reimport(user) -> bool:
    """Superusers and holders of `catalog.reimport_source` may start imports from the admin."""
    return user.is_active and (user.is_superuser or user.has_perm(REIMPORT_PERMISSION))


class ViewOnlyAdmin(admin.ModelAdmin):
    """Data that only imports write: browsable, never edited here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
