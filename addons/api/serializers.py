from rest_framework import serializers

from addons.models import AddonInstallation


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


class AddonInstallationSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="addon-installation-detail")
    van = serializers.SlugRelatedField(slug_field="name", read_only=True)
    settings = serializers.DictField(help_text="Checked against the add-on's settings schema; each error names its setting.")

    class Meta:
        model = AddonInstallation
        fields = ["url", "id", "van", "slug", "enabled", "settings", "created", "updated"]
        read_only_fields = ["id", "van", "slug", "enabled", "created", "updated"]
