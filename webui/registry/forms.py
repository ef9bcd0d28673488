"""Admin forms for adding model files: download from a URL, upload from the browser."""

from django import forms

from webui.registry.downloading import check_filename, filename_from_url, target_path
from webui.registry.models import ModelDownload


class DownloadForm(forms.ModelForm):
    class Meta:
        model = ModelDownload
        fields = ["url", "filename", "expected_sha256"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["filename"].required = False
        self.fields[
            "filename"
        ].help_text = "Name in the models folder; empty takes the last part of the URL."

    def clean_expected_sha256(self) -> str:
        return self.cleaned_data["expected_sha256"].strip().lower()

    def clean(self):
        data = super().clean()
        url = data.get("url")
        if not url:
            return data
        name = (data.get("filename") or "").strip() or filename_from_url(url)
        try:
            name = check_filename(name)
            target_path(name)
        except ValueError as exc:
            self.add_error("filename" if data.get("filename") else "url", str(exc))
            return data
        busy = ModelDownload.objects.filter(filename=name).exclude(state=ModelDownload.State.DONE)
        if self.instance.pk:
            busy = busy.exclude(pk=self.instance.pk)
        if busy.exists():
            self.add_error(
                "filename", f"{name} is already being downloaded (or failed): resume that one."
            )
        data["filename"] = name
        return data


class UploadForm(forms.Form):
    file = forms.FileField(
        help_text="A .gguf model file (small ones: it goes through the browser)."
    )
    filename = forms.CharField(
        max_length=200, required=False, help_text="Name in the models folder; empty keeps its own."
    )
