from django import forms

from portal.forms import OwnedObjectForm
from van.choices import Environment, Provider


class ClusterForm(OwnedObjectForm):
    name = forms.CharField(max_length=63, help_text="A DNS label: lowercase letters, digits and '-'.")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    environment = forms.ChoiceField(choices=Environment.choices)
    provider = forms.ChoiceField(choices=Provider.choices)
    api_url = forms.URLField(label="API server URL", max_length=500, assume_scheme="https")
    tags = forms.CharField(required=False, help_text="Comma-separated: gpu, region=eu")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance is not None:
            for name in ("name", "description", "environment", "provider", "api_url"):
                self.initial.setdefault(name, getattr(self.instance, name))
            self.initial.setdefault("tags", ", ".join(self.instance.tags))
