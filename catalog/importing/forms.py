"""The admin's source form: the folders a source is re-imported from, each inside CATALOG_IMPORT_ROOTS."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from catalog.importing.roots import RootNotAllowed, check_root
from catalog.models import Source


class FolderListField(forms.CharField):
    """Folders edited one per line; each must be an existing folder inside CATALOG_IMPORT_ROOTS."""

    widget = forms.Textarea(attrs={"rows": 4, "cols": 100})

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, (list, tuple)) else value

    def to_python(self, value):
        if isinstance(value, (list, tuple)):
            return list(value)
        folders = list(dict.fromkeys(line.strip() for line in (super().to_python(value) or "").splitlines()))
        return [folder for folder in folders if folder]

    def validate(self, value):
        super().validate(value)
        problems = []
        for folder in value:
            try:
                check_root(folder)
            except RootNotAllowed as exc:
                problems.append(str(exc))
        if problems:
            raise ValidationError(problems)


class SourceForm(forms.ModelForm):
    roots = FolderListField(
        required=False,
        label="Folders",
        help_text=(
            "The folders a re-import reads, one per line (absolute paths). Imports add every folder they are "
            "given; remove the ones this source no longer comes from. Each must lie inside CATALOG_IMPORT_ROOTS."
        ),
    )

    class Meta:
        model = Source
        fields = ["roots"]
