"""Forms of the collections pages."""

from django import forms
from django.contrib.auth.models import Group

from webui.documents.models import Collection


class CollectionForm(forms.Form):
    name = forms.CharField(max_length=100, strip=True)
    description = forms.CharField(max_length=500, required=False, strip=True)

    def __init__(self, *args, owner, **kwargs):
        super().__init__(*args, **kwargs)
        self.owner = owner

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Give the collection a name.")
        if any(c in name for c in "#\n\r"):
            raise forms.ValidationError("A collection's name has no # in it.")
        if Collection.objects.filter(owner=self.owner, name__iexact=name).exists():
            raise forms.ValidationError(f"You have a collection named {name} already.")
        return name


class ShareForm(forms.Form):
    """Share a collection with some of its owner's groups (none: private)."""

    groups = forms.ModelMultipleChoiceField(
        queryset=Group.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, owner, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["groups"].queryset = owner.groups.order_by("name")
