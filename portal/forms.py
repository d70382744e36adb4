from __future__ import annotations

import re

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator


def apply_validation_error(form: forms.BaseForm, exc: ValidationError) -> None:
    """Put a service's ValidationError on the form's matching fields (others on the form)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def form_submit(form: forms.BaseForm, call):
    """``call()`` (one service) when ``form`` is valid, and what it returned; None when the form or the service
    refused, the service's ``ValidationError`` then on the form's fields (``apply_validation_error``)."""
    if not form.is_valid():
        return None
    try:
        return call()
    except ValidationError as exc:
        apply_validation_error(form, exc)
        return None


def _is_pk(value) -> bool:
    """A value that can be an integer primary key: SQLite and PostgreSQL raise (a server error) on integers
    beyond 64 bits, which Django's model choice fields do not catch."""
    text = str(value).strip()
    return bool(re.fullmatch(r"[0-9]{1,19}", text)) and int(text) < 2 ** 63


class ModelChoiceField(forms.ModelChoiceField):
    """``forms.ModelChoiceField`` for integer keys that refuses a value no row can have before querying."""

    def to_python(self, value):
        if value not in self.empty_values and not _is_pk(value):
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class ModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """``forms.ModelMultipleChoiceField`` for integer keys that refuses a value no row can have before querying."""

    def _check_values(self, value):
        for pk in value:
            if not _is_pk(pk):
                raise ValidationError(self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": pk})
        return super()._check_values(value)


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
        self.fields["owner_team"] = ModelChoiceField(queryset=teams, label="Owning team")
        self.fields["visibility"] = forms.ChoiceField(choices=Visibility.choices, initial=Visibility.PUBLIC)
        if self.instance is not None:
            self.initial.setdefault("owner_team", self.instance.owner_team_id)
            self.initial.setdefault("visibility", self.instance.visibility)
        elif self.active_team:  # a lazy object: "is not None" would be true even for a user in no team
            # New objects default to the team chosen in the team switcher.
            self.initial.setdefault("owner_team", self.active_team.pk)


class LoginForm(AuthenticationForm):
    """Django's sign-in form, with its username's length enforced before anything is looked up: Django sets the
    field's ``max_length`` after the field is built, so without this a 10,000-character name reached the
    authentication backends and the lockout records (a ``varchar(255)``: a 500 on PostgreSQL)."""

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        field = self.fields["username"]
        field.validators.append(MaxLengthValidator(field.max_length))
