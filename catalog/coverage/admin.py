"""Curators save named telemetry profiles ("Sysmon default config"); /coverage/ lists them for everyone."""

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.html import format_html

from catalog.coverage.profile import ProfileError, parse
from catalog.models.telemetry import TelemetryProfile


@admin.register(TelemetryProfile)
class TelemetryProfileAdmin(admin.ModelAdmin):
    list_display = ("name", "events", "logsources", "updated_at", "open_link")
    search_fields = ("name", "description")
    prepopulated_fields = {"slug": ("name",)}

    @admin.display(description="coverage")
    def open_link(self, obj):
        return format_html('<a href="{}">open</a>', profile_url(obj))

    def save_model(self, request, obj, form, change):
        profile = parse(obj.events, obj.logsources, obj.unfilled)  # validated in the form's clean below
        obj.events, obj.logsources = ",".join(profile.event_tokens), ",".join(profile.logsource_tokens)
        obj.unfilled = ",".join(profile.unfilled_tokens)
        super().save_model(request, obj, form, change)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)

        def clean(this):
            data = super(form, this).clean()
            try:
                parse(data.get("events", ""), data.get("logsources", ""), data.get("unfilled", ""))
            except ProfileError as exc:
                raise ValidationError(str(exc)) from None
            return data

        form.clean = clean
        return form


def profile_url(profile: TelemetryProfile) -> str:
    from django.urls import reverse

    return reverse("coverage:page") + "?" + parse(profile.events, profile.logsources, profile.unfilled).query()
