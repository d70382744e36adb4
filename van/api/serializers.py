from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from portal.models import Team, Visibility
from portal.selectors import teams_user_can_edit_for
from van.choices import AppMatch, CredentialsKind, Environment, Provider, Reachability, SourceKind, SyncMode
from van.models import App, AppRelease, Cluster, DistributionRule, Van
from van.selectors import van_publish_blockers


class EditableTeamField(serializers.SlugRelatedField):
    """A team slug, restricted to the teams the requesting user may edit for."""

    def get_queryset(self):
        return teams_user_can_edit_for(user=self.context["request"].user)


class ChangeableSlugField(serializers.SlugRelatedField):
    """An object by name, restricted to what the requesting user may change."""

    def __init__(self, model, **kwargs):
        self.model = model
        super().__init__(slug_field="name", **kwargs)

    def get_queryset(self):
        return self.model.objects.restrict(self.context["request"].user, "change")


class ClusterSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="cluster-detail")
    owner_team = EditableTeamField(slug_field="slug", queryset=Team.objects.none())
    environment = serializers.ChoiceField(choices=Environment.choices)
    provider = serializers.ChoiceField(choices=Provider.choices)
    visibility = serializers.ChoiceField(choices=Visibility.choices, default=Visibility.PUBLIC)
    tags = serializers.ListField(child=serializers.CharField(max_length=317), required=False, default=list)
    credentials_kind = serializers.ChoiceField(choices=CredentialsKind.choices, required=False, default="", allow_blank=True)
    credentials = serializers.CharField(write_only=True, required=False, default="", allow_blank=True, style={"input_type": "password"},
                                        help_text="Bearer token or kubeconfig; write-only, stored encrypted.")
    sealing_cert = serializers.CharField(required=False, default="", allow_blank=True, trim_whitespace=False)
    has_credentials = serializers.BooleanField(read_only=True)
    van = serializers.SerializerMethodField(help_text="The VAN's name; null when the cluster is in no VAN or in one you may not see.")
    role = serializers.SerializerMethodField(help_text="hub, edge, or empty when the cluster is in no VAN (or in one you may not see).")

    class Meta:
        model = Cluster
        fields = ["url", "id", "name", "description", "environment", "provider", "api_url", "tags", "owner_team", "visibility",
                  "credentials_kind", "credentials", "has_credentials", "sealing_cert", "van", "role", "created", "updated"]
        read_only_fields = ["id", "role", "created", "updated"]


    def _van_shown(self, obj) -> bool:
        if obj.van_id is None:
            return False
        if hasattr(obj, "van_visible"):
            return obj.van_visible
        return Van.objects.permits(self.context["request"].user, "view", obj.van)

    def get_van(self, obj) -> str | None:
        return obj.van.name if self._van_shown(obj) else None

    def get_role(self, obj) -> str:
        return obj.role if self._van_shown(obj) else ""


class PublishBlockerSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="no_hub, hub_host, sealing_cert or credentials.")
    cluster = serializers.CharField(source="cluster.name", default=None, allow_null=True, help_text="The cluster to fix; null: the VAN itself.")
    problem = serializers.CharField()
    fix = serializers.CharField()


class VanSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="van-detail")
    owner_team = EditableTeamField(slug_field="slug", queryset=Team.objects.none())
    visibility = serializers.ChoiceField(choices=Visibility.choices, default=Visibility.PUBLIC)
    reachability = serializers.ChoiceField(choices=Reachability.choices, default=Reachability.LOADBALANCER)
    hub = serializers.CharField(write_only=True, help_text="Name of the hub cluster (one you may change).")
    edges = serializers.ListField(child=serializers.CharField(), required=False, write_only=True, help_text="Names of edge clusters.")
    addons = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, write_only=True,
        help_text="On creation: the golden-path add-ons to turn on (GET /api/addons/); left out, every one on by default. "
                  "Later, turn them on and off through /api/addon-installations/.")
    publish_blockers = serializers.SerializerMethodField(
        help_text="What keeps the VAN from publishing: until this is empty its saves are kept but nothing is committed.")

    class Meta:
        model = Van
        fields = ["url", "id", "name", "description", "owner_team", "visibility", "hub", "edges", "reachability", "hub_host",
                  "inter_router_port", "edge_port", "addons", "publish_blockers", "created", "updated"]
        read_only_fields = ["id", "created", "updated"]

    def _clusters(self, names: list[str], field: str) -> list[Cluster]:
        found = {c.name: c for c in Cluster.objects.restrict(self.context["request"].user, "change").filter(name__in=names)}
        missing = [n for n in names if n not in found]
        if missing:
            raise serializers.ValidationError(f"{field}: no cluster you may change is named {', '.join(map(repr, missing))}")
        return [found[n] for n in names]

    def validate_hub(self, value):
        return self._clusters([value], "hub")[0]

    def validate_edges(self, value):
        return self._clusters(list(value), "edges")

    @extend_schema_field(PublishBlockerSerializer(many=True))
    def get_publish_blockers(self, instance):
        return PublishBlockerSerializer(van_publish_blockers(van=instance, clusters=instance.clusters.all()), many=True).data

    def to_representation(self, instance):
        data = super().to_representation(instance)
        clusters = list(instance.clusters.all())
        data["hub"] = next((c.name for c in clusters if c.role == "hub"), None)
        data["edges"] = sorted(c.name for c in clusters if c.role == "edge")
        return data


class AppSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="app-detail")
    owner_team = EditableTeamField(slug_field="slug", queryset=Team.objects.none())
    visibility = serializers.ChoiceField(choices=Visibility.choices, default=Visibility.PUBLIC)
    source_kind = serializers.ChoiceField(choices=SourceKind.choices)
    tags = serializers.ListField(child=serializers.CharField(max_length=317), required=False, default=list)
    values = serializers.DictField(required=False, default=dict)
    overrides = serializers.DictField(required=False, default=dict)

    class Meta:
        model = App
        fields = ["url", "id", "name", "description", "component_ref", "source_kind", "repo_url", "path", "revision", "chart",
                  "chart_version", "values", "namespace", "image", "version", "tags", "overrides", "owner_team", "visibility",
                  "created", "updated"]
        read_only_fields = ["id", "created", "updated"]


class AppVersionSerializer(serializers.Serializer):
    version = serializers.CharField(required=False, default="", allow_blank=True)
    chart_version = serializers.CharField(required=False, default="", allow_blank=True)


class AppReleaseSerializer(serializers.ModelSerializer):
    author = serializers.SlugRelatedField(slug_field="username", read_only=True)
    changesets = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = AppRelease
        fields = ["id", "version", "chart_version", "author", "changesets", "rollback_of", "created"]
        # read-only: a writable related field would have the browsable API list every release to pick from
        read_only_fields = fields


class RuleSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="rule-detail")
    van = ChangeableSlugField(Van)
    app_tags = serializers.ListField(child=serializers.CharField(max_length=317))
    app_match = serializers.ChoiceField(choices=AppMatch.choices, default=AppMatch.ALL)
    environments = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    sync = serializers.ChoiceField(choices=SyncMode.choices, default=SyncMode.AUTOMATED)

    class Meta:
        model = DistributionRule
        fields = ["url", "id", "van", "name", "order", "app_tags", "app_match", "cluster_selector", "environments", "sync",
                  "prune", "self_heal", "created", "updated"]
        read_only_fields = ["id", "created", "updated"]
        validators = []  # uniqueness per VAN is the model's constraint; the service reports it on the field
