from rest_framework import serializers

from addons.models import AddonInstallation, CiPipeline, InfraClaim, SealedSecretRecord
from van.api.serializers import ChangeableSlugField
from van.models import App, Van


class AddonSourceSerializer(serializers.Serializer):
    name = serializers.CharField()
    kind = serializers.CharField()
    repo_url = serializers.CharField()
    chart = serializers.CharField()
    path = serializers.CharField()
    version = serializers.CharField()


class AddonDefinitionSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    summary = serializers.CharField()
    upstream = serializers.CharField()
    upstream_version = serializers.CharField()
    placement = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    namespace = serializers.CharField()
    needs = serializers.ListField(child=serializers.CharField())
    provides = serializers.ListField(child=serializers.CharField())
    default_enabled = serializers.BooleanField()
    sources = AddonSourceSerializer(many=True)
    settings_schema = serializers.DictField()


_IN = {"write_only": True}  # sent to build the definition, never read back


class CustomAddonSerializer(serializers.Serializer):
    """A tool ops add (platform admins): its source pinned, placed by tags; checked like a built-in. What is sent
    builds the definition; what comes back is the stored definition."""

    url = serializers.HyperlinkedIdentityField(view_name="custom-addon-detail")
    id = serializers.IntegerField(read_only=True)
    slug = serializers.CharField(max_length=40)
    name = serializers.CharField(max_length=80, **_IN)
    summary = serializers.CharField(max_length=300, **_IN)
    upstream = serializers.CharField(max_length=300, **_IN)
    namespace = serializers.CharField(max_length=63, **_IN)
    source_kind = serializers.ChoiceField(choices=["helm", "git"], **_IN)
    repo_url = serializers.CharField(max_length=300, **_IN)
    version = serializers.CharField(max_length=60, **_IN)
    chart = serializers.CharField(max_length=100, required=False, allow_blank=True, default="", **_IN)
    path = serializers.CharField(max_length=200, required=False, allow_blank=True, default="", **_IN)
    placement = serializers.ChoiceField(choices=["tagged", "every-cluster", "hub"], default="tagged", **_IN)
    tags = serializers.ListField(child=serializers.CharField(max_length=317), required=False, default=list, **_IN)
    needs = serializers.ListField(child=serializers.CharField(max_length=40), required=False, default=list, **_IN)
    values = serializers.DictField(required=False, allow_null=True, default=None, **_IN)
    definition = serializers.DictField(read_only=True)
    created = serializers.DateTimeField(read_only=True)


class AddonInstallationSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="addon-installation-detail")
    van = ChangeableSlugField(Van, required=False, help_text="On creation: the VAN (one you may change) to turn the add-on on for.")
    slug = serializers.CharField(max_length=40, required=False, help_text="On creation: the add-on (GET /api/addons/).")
    settings = serializers.DictField(required=False, help_text="Checked against the add-on's settings schema; each error names its setting.")

    class Meta:
        model = AddonInstallation
        fields = ["url", "id", "van", "slug", "enabled", "settings", "created", "updated"]
        read_only_fields = ["id", "enabled", "created", "updated"]

    def validate(self, data):
        if self.instance is None:
            missing = {f: f"{f}: required to turn an add-on on" for f in ("van", "slug") if not data.get(f)}
            if missing:
                raise serializers.ValidationError(missing)
        if self.instance is not None and ({"van", "slug"} & set(self.initial_data)):
            changed = [f for f in ("van", "slug") if f in self.initial_data
                       and str(self.initial_data[f]) != str(getattr(self.instance, "van").name if f == "van" else self.instance.slug)]
            if changed:
                raise serializers.ValidationError({f: f"{f}: an add-on of a VAN keeps its VAN and add-on" for f in changed})
        return data


class CiPipelineSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="ci-pipeline-detail")
    app = ChangeableSlugField(App, help_text="The app (one you may change) whose pushes run the pipeline.")
    van = ChangeableSlugField(Van, help_text="Whose hub runs it: a VAN you may change, with Argo Events + Workflows and "
                                             "Sealed Secrets on.")
    webhook_secret = serializers.SerializerMethodField(
        help_text="In the answer to creating the pipeline only: the secret the git server's webhook sends as "
                  "'Authorization: Bearer'. Wayline keeps it sealed for the hub alone.")

    class Meta:
        model = CiPipeline
        fields = ["url", "id", "app", "van", "branch", "test_image", "test_command", "webhook_secret", "created", "updated"]
        read_only_fields = ["id", "created", "updated"]

    def get_webhook_secret(self, obj) -> str | None:
        return getattr(obj, "webhook_secret", None)

    def validate(self, data):
        if self.instance is not None:
            moved = [f for f in ("app", "van") if f in data and data[f] != getattr(self.instance, f)]
            if moved:
                raise serializers.ValidationError({f: f"{f}: a pipeline keeps its app and VAN (delete it to move it)" for f in moved})
            data = {k: v for k, v in data.items() if k not in ("app", "van")}
        return data


class InfraClaimSerializer(serializers.ModelSerializer):
    """A claim's desired values (name, environment and VAN fixed once made) and what the hub observes."""

    url = serializers.HyperlinkedIdentityField(view_name="claim-detail")
    van = ChangeableSlugField(Van, help_text="The VAN (one you may change) whose hub's Crossplane applies the claim.")
    observed = serializers.DictField(read_only=True, help_text="What the hub's Workspace reports (node_count, node_size, "
                                     "ready, synced, message); empty until the hub reports it, {missing: true} once it is gone.")
    drift = serializers.ListField(child=serializers.CharField(), read_only=True,
                                  help_text="Observed values that differ from the desired ones (Crossplane reverts them).")

    class Meta:
        model = InfraClaim
        fields = ["url", "id", "van", "name", "environment", "node_count", "node_size", "observed", "observed_at", "drift",
                  "created", "updated"]
        read_only_fields = ["id", "observed_at", "created", "updated"]
        extra_kwargs = {"node_count": {"min_value": 1, "max_value": 100}}

    def validate(self, data):
        if self.instance is not None:
            moved = [f for f in ("van", "name", "environment") if f in data and data[f] != getattr(self.instance, f)]
            if moved:
                raise serializers.ValidationError({f: f"{f}: a claim keeps its VAN, name and environment" for f in moved})
            data = {k: v for k, v in data.items() if k in ("node_count", "node_size")}
        return data


class SealSerializer(serializers.Serializer):
    """A Secret to seal for one cluster of the add-on's VAN: the values are sealed in memory and never stored."""

    cluster = serializers.CharField(max_length=63)
    namespace = serializers.CharField(max_length=63)
    name = serializers.CharField(max_length=253)
    scope = serializers.ChoiceField(choices=["strict", "namespace-wide", "cluster-wide"], default="strict")
    data = serializers.DictField(child=serializers.CharField(allow_blank=True, trim_whitespace=False), write_only=True,
                                 help_text="KEY: value pairs; sealed, never stored, logged or sent back.")


class SealedSecretSerializer(serializers.ModelSerializer):
    """A sealed Secret as Wayline keeps it: where it goes and its key names (the ciphertext is in git)."""

    van = serializers.CharField(source="installation.van.name", read_only=True)
    path = serializers.CharField(read_only=True)

    class Meta:
        model = SealedSecretRecord
        fields = ["id", "van", "cluster", "namespace", "name", "scope", "keys", "path", "created", "updated"]
        read_only_fields = fields
