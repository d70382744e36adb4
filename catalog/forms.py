from django import forms

from catalog.choices import LocationType
from portal.forms import OwnedObjectForm, PortalForm
from portal.models import Visibility


class LocationForm(OwnedObjectForm):
    type = forms.ChoiceField(choices=LocationType.choices, initial=LocationType.GIT)
    target = forms.CharField(max_length=1000, help_text="Git URL (https://, ssh or a path to a repository), or a directory")
    branch = forms.CharField(max_length=255, required=False, help_text="Empty: the default branch")
    path = forms.CharField(max_length=1000, initial="catalog-info.yaml",
                           help_text="File or glob, e.g. catalog-info.yaml or **/*.yaml (comma-separated for several)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not getattr(self.user, "is_superuser", False):
            # A directory reads the server's own disk: location_register allows it to platform admins only, so
            # nobody else is offered it. A request naming it anyway still reaches the service and its 403.
            self.fields["type"].widget.choices = [(LocationType.GIT, LocationType.GIT.label)]
            self.fields["target"].help_text = "Git URL (https:// or ssh)"


class EntitySettingsForm(PortalForm):
    """Portal-side settings of an entity; everything else comes from its catalog file."""

    visibility = forms.ChoiceField(choices=Visibility.choices)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance is not None:
            self.initial.setdefault("visibility", self.instance.visibility)
