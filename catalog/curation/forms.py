"""The admin's curation forms: a rule's curation, and the tag asked for by the bulk tag actions."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from catalog.curation.fields import CurationError, field_label
from catalog.curation.tags import clean_tag, format_tags, parse_tag_text
from catalog.models import LEVELS, Rule

# The rule columns the curation form saves; verified_by / verified_at are stamped, never typed, and
# `hidden` is a plain form field that the admin hands to catalog.publishing.visibility.
SAVED_FIELDS = ["note", "verified", "local_tags_added", "local_tags_removed", "level_override", "fp_note"]


class TagListField(forms.CharField):
    """A list of tags edited as comma-separated text."""

    def prepare_value(self, value):
        return format_tags(value) if isinstance(value, (list, tuple)) else value

    def to_python(self, value):
        if isinstance(value, (list, tuple)):
            return list(value)
        try:
            return parse_tag_text(super().to_python(value))
        except CurationError as exc:
            raise ValidationError(str(exc)) from None


class RuleCurationForm(forms.ModelForm):
    hidden = forms.BooleanField(
        required=False,
        label=field_label("hidden"),
        help_text="Hidden rules are removed from every public page, listing and API (their page is a 404).",
    )
    local_tags_added = TagListField(
        required=False,
        label=field_label("local_tags_added"),
        help_text="Comma-separated tags added to the rule's Sigma tags in this catalog (kept across re-imports).",
        widget=forms.TextInput(attrs={"size": 80}),
    )
    local_tags_removed = TagListField(
        required=False,
        label=field_label("local_tags_removed"),
        help_text="Comma-separated Sigma tags hidden in this catalog (kept across re-imports).",
        widget=forms.TextInput(attrs={"size": 80}),
    )
    level_override = forms.ChoiceField(
        required=False,
        label=field_label("level_override"),
        choices=[("", "— keep the Sigma level —")] + [(level, level) for level in LEVELS],
    )

    class Meta:
        model = Rule
        fields = SAVED_FIELDS
        widgets = {
            "note": forms.Textarea(attrs={"rows": 4, "cols": 80}),
            "fp_note": forms.Textarea(attrs={"rows": 3, "cols": 80}),
        }
        labels = {name: field_label(name) for name in SAVED_FIELDS}
        help_texts = {"verified": "Turning this on records you and the time; turning it off clears both."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial.setdefault("hidden", self.instance.hidden)

    @property
    def hidden_change(self) -> bool | None:
        """The rule's new `hidden` when the curator changed it, else None."""
        return self.cleaned_data["hidden"] if "hidden" in self.changed_data else None


class TagActionForm(forms.Form):
    tag = forms.CharField(max_length=200, help_text="One tag, e.g. attack.t1059.001 or local.reviewed")

    def clean_tag(self):
        try:
            return clean_tag(self.cleaned_data["tag"])
        except CurationError as exc:
            raise ValidationError(str(exc)) from None
