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
    # The revision of the change the decider saw: a change updated since is refused, not decided blind.
    revision = forms.IntegerField(required=False, min_value=1, max_value=2 ** 31 - 1, widget=forms.HiddenInput)

    def clean_comment(self):
        from portal.gitops.messages import commit_text_clean

        return commit_text_clean(self.cleaned_data["comment"] or "", field="comment")


class BulkDecisionForm(forms.Form):
    """Several waiting changes decided at once from the approval queue: ``change`` values are "<id>:<revision>"."""

    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    change = forms.MultipleChoiceField(choices=(), required=True)

    def __init__(self, *args, queue=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["change"].choices = [(f"{cs.pk}:{cs.revision}", f"#{cs.pk}") for cs in queue]

    def clean_comment(self):
        from portal.gitops.messages import commit_text_clean

        return commit_text_clean(self.cleaned_data["comment"] or "", field="comment")

    def clean_change(self):
        return [tuple(int(part) for part in value.split(":")) for value in self.cleaned_data["change"]]
