from django import forms

from portal.forms import PortalForm


class GitOpsRepoForm(PortalForm):
    name = forms.SlugField(max_length=100)
    url = forms.CharField(max_length=500, label="URL", help_text="Local path, file://, ssh:// or https:// URL; no credentials in it.")
    branch = forms.CharField(max_length=200, initial="main")
    username = forms.CharField(max_length=200, required=False, help_text="User for HTTPS credentials.")
    secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        label="Token, password or SSH private key",
        help_text="Stored encrypted; never shown again. Leave empty to keep the stored one.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance is not None:
            for field in ("name", "url", "branch", "username"):
                self.initial.setdefault(field, getattr(self.instance, field))
            self.fields["name"].disabled = True


class DecisionForm(forms.Form):
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
