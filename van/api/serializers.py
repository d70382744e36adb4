from rest_framework import serializers

from portal.selectors import teams_user_can_edit_for
from portal.models import Team, Visibility
from van.choices import Environment, Provider
from van.models import Cluster


class EditableTeamField(serializers.SlugRelatedField):
    """A team slug, restricted to the teams the requesting user may edit for."""

    def get_queryset(self):
        return teams_user_can_edit_for(user=self.context["request"].user)


class ClusterSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="cluster-detail")
    owner_team = EditableTeamField(slug_field="slug", queryset=Team.objects.none())
    environment = serializers.ChoiceField(choices=Environment.choices)
    provider = serializers.ChoiceField(choices=Provider.choices)
    visibility = serializers.ChoiceField(choices=Visibility.choices, default=Visibility.PUBLIC)
    tags = serializers.ListField(child=serializers.CharField(max_length=317), required=False, default=list)

    class Meta:
        model = Cluster
        fields = ["url", "id", "name", "description", "environment", "provider", "api_url", "tags", "owner_team", "visibility", "created", "updated"]
        read_only_fields = ["id", "created", "updated"]
