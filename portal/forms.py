from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError


def apply_validation_error(form: forms.BaseForm, exc: ValidationError) -> None:
    """Put a service's ValidationError on the form's matching fields (others on the form)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


class PortalForm(forms.Form):
    """A plain form that knows the requesting user (for restricted dropdowns)."""

    def __init__(self, *args, user=None, instance=None, active_team=None, **kwargs):
        self.user = user
        self.instance = instance
        self.active_team = active_team
        super().__init__(*args, **kwargs)


class OwnedObjectForm(PortalForm):
    """Adds the owning team and visibility, restricted to the teams the user may edit for."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from portal.models import Visibility
        from portal.selectors import teams_user_can_edit_for

        teams = teams_user_can_edit_for(user=self.user)
        self.fields["owner_team"] = forms.ModelChoiceField(queryset=teams, label="Owning team")
        self.fields["visibility"] = forms.ChoiceField(choices=Visibility.choices, initial=Visibility.PUBLIC)
        if self.instance is not None:
            self.initial.setdefault("owner_team", self.instance.owner_team_id)
            self.initial.setdefault("visibility", self.instance.visibility)
        elif self.active_team is not None:
            # New objects default to the team chosen in the team switcher.
            self.initial.setdefault("owner_team", self.active_team.pk)
