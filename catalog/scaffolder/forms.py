"""A template's parameter pages as Django forms: one form per page, its fields built from the page's JSON Schema.

The form only draws the fields and turns what the browser sends into JSON values (text, numbers, booleans,
lists); what is valid is decided by the template's JSON Schema on the server (``parameters_check``), whose errors
land on the fields they name. Pickers are backed by what the user may use: ``OwnerPicker`` offers the user's own
teams, ``EntityPicker`` the catalog entities the user may see (of the kinds its ``catalogFilter`` names), and
``RepoUrlPicker`` a repository name under one of the user's teams.
"""
from __future__ import annotations

from django import forms

from catalog import selectors

MAX_PICKER_CHOICES = 500


def _choices_owner(user) -> list[tuple[str, str]]:
    from portal.selectors import teams_user_can_edit_for

    return [(f"group:default/{t.slug}", t.name) for t in teams_user_can_edit_for(user=user)]


def _choices_entity(user, options: dict) -> list[tuple[str, str]]:
    wanted = (options.get("catalogFilter") or {}) if isinstance(options.get("catalogFilter"), dict) else {}
    kinds = wanted.get("kind") or options.get("allowedKinds") or []
    kinds = [kinds] if isinstance(kinds, str) else [k for k in kinds if isinstance(k, str)]
    rows = selectors.entity_list_light(user=user)
    if kinds:
        rows = rows.filter(kind__in=kinds)
    return [(ref, ref) for ref in rows.order_by("ref").values_list("ref", flat=True)[:MAX_PICKER_CHOICES]]


class RepoUrlWidget(forms.MultiWidget):
    """owner (one of the user's teams) and repository name; the value is ``wayline?owner=...&repo=...``."""

    template_name = "catalog/inc/repo_url_widget.html"

    def __init__(self, owners, attrs=None):
        super().__init__([forms.Select(choices=owners), forms.TextInput(attrs={"placeholder": "repository name"})], attrs)

    def decompress(self, value):
        from urllib.parse import parse_qs

        if not value or "?" not in str(value):
            return [None, None]
        query = parse_qs(str(value).partition("?")[2])
        return [query.get("owner", [None])[-1], query.get("repo", [None])[-1]]


class RepoUrlField(forms.MultiValueField):
    def __init__(self, owners, **kwargs):
        super().__init__(fields=[forms.ChoiceField(choices=owners, required=False), forms.CharField(required=False)],
                         widget=RepoUrlWidget([(slug, slug) for slug, _ in owners]), require_all_fields=False, **kwargs)

    def compress(self, data_list):
        owner, repo = (list(data_list) + [None, None])[:2]
        return f"wayline?owner={owner}&repo={repo}" if owner and repo else ""


def _field(name: str, prop: dict, required: bool, user) -> forms.Field:
    title = prop.get("title") or name
    common = {"label": title, "required": False, "help_text": prop.get("description") or ""}
    kind = prop.get("type")
    ui_field, ui_widget = prop.get("ui:field"), prop.get("ui:widget")
    options = prop.get("ui:options") if isinstance(prop.get("ui:options"), dict) else {}
    if ui_field == "OwnerPicker":
        return forms.ChoiceField(choices=[("", "—")] + _choices_owner(user), **common)
    if ui_field in ("EntityPicker", "OwnedEntityPicker"):
        return forms.ChoiceField(choices=[("", "—")] + _choices_entity(user, options), **common)
    if ui_field == "RepoUrlPicker":
        owners = [(t.split("/")[-1], label) for t, label in _choices_owner(user)]
        return RepoUrlField(owners, **common)
    if isinstance(prop.get("enum"), list):
        labels = prop.get("enumNames") if isinstance(prop.get("enumNames"), list) else prop["enum"]
        choices = [(str(v), str(label)) for v, label in zip(prop["enum"], labels)]
        return forms.TypedChoiceField(choices=([] if required else [("", "—")]) + choices,
                                      coerce=lambda text, values=prop["enum"]: next(
                                          (v for v in values if str(v) == text), text), **common)
    if kind == "boolean":
        return forms.BooleanField(**common)
    if kind == "integer":
        return forms.IntegerField(**common)
    if kind == "number":
        return forms.FloatField(**common)
    if kind == "array":
        return forms.CharField(widget=forms.TextInput(attrs={"placeholder": "comma-separated"}), **common)
    if ui_field == "Secret" or ui_widget == "password":
        return forms.CharField(widget=forms.PasswordInput(render_value=False), **common)
    if ui_widget == "textarea":
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), **common)
    return forms.CharField(**common)


class ParameterPageForm(forms.Form):
    """One parameter page. ``values()`` gives what the user entered as JSON values (empty fields left out)."""

    def __init__(self, *args, page: dict, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.page = page
        required = set(page.get("required") or [])
        order = page.get("ui:order") if isinstance(page.get("ui:order"), list) else []
        properties = page.get("properties") or {}
        names = [n for n in order if n in properties] + [n for n in properties if n not in order]
        for name in names:
            prop = properties[name]
            if not isinstance(prop, dict) or prop.get("ui:widget") == "hidden" or prop.get("type") == "object":
                continue
            field = _field(name, prop, name in required, user)
            field.required_mark = name in required
            if prop.get("ui:autofocus"):
                field.widget.attrs["autofocus"] = True
            self.fields[name] = field

    def values(self) -> dict:
        out = {}
        for name, value in self.cleaned_data.items():
            prop = (self.page.get("properties") or {}).get(name) or {}
            if prop.get("type") == "array":
                items = [part.strip() for part in (value or "").split(",") if part.strip()]
                if items or value:
                    out[name] = items
                continue
            if value in (None, "") and prop.get("type") != "boolean":
                continue
            out[name] = value
        return out

    def initial_from(self, values: dict) -> None:
        for name, field in self.fields.items():
            if name in values:
                value = values[name]
                self.initial[name] = ", ".join(map(str, value)) if isinstance(value, list) else value
            elif "default" in ((self.page.get("properties") or {}).get(name) or {}):
                default = self.page["properties"][name]["default"]
                self.initial[name] = ", ".join(map(str, default)) if isinstance(default, list) else default
