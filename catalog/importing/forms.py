"""The admin's source form: the folders a source is re-imported from, each inside CATALOG_IMPORT_ROOTS, and a
git source's repository, branch and folders (checked as `add_source` checks them)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from catalog.importing.git_sources import SourceSettingError, check_branch, check_name, check_paths, check_url
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

    git_paths = forms.CharField(
        required=False,
        label="Folders in the repository",
        help_text="Comma-separated folders of the git repository to import, e.g. rules,rules-emerging-threats "
        "(empty: all of it).",
    )

    class Meta:
        model = Source
        fields = ["roots"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "git_paths" in self.fields and self.instance.pk:
            self.initial["git_paths"] = ",".join(self.instance.git_paths)

    def clean_git_url(self):
        url = self.cleaned_data.get("git_url", "").strip()
        if not url:
            return ""
        try:
            url = check_url(url)
        except SourceSettingError as exc:
            raise ValidationError(str(exc)) from None
        if url.lower().startswith("file:"):  # a repository on this server: only where the admin may import from
            try:
                check_root(url.split("://", 1)[-1])
            except RootNotAllowed as exc:
                raise ValidationError(str(exc)) from None
        return url

    def clean_branch(self):
        try:
            return check_branch(self.cleaned_data.get("branch", ""))
        except SourceSettingError as exc:
            raise ValidationError(str(exc)) from None

    def clean_git_paths(self):
        try:
            return check_paths(self.cleaned_data.get("git_paths", "").replace("\n", ",").split(","))
        except SourceSettingError as exc:
            raise ValidationError(str(exc)) from None

    def clean(self):
        cleaned = super().clean()
        name = cleaned.get("name", self.instance.name)
        if cleaned.get("git_url") and name:
            try:
                check_name(name)
            except SourceSettingError as exc:
                self.add_error("git_url" if self.instance.pk else "name", str(exc))
        return cleaned
