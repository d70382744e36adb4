from rest_framework import serializers

from catalog.choices import LocationType
from catalog.models import Entity, Location, LocationError
from portal.models import Team, Visibility


class EntitySerializer(serializers.ModelSerializer):
    """An entity; only ``visibility`` (a portal-side setting) is writable."""

    owner_team = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    location = serializers.PrimaryKeyRelatedField(read_only=True)
    url = serializers.CharField(read_only=True, help_text="the entity's page in the portal")
    processed = serializers.DateTimeField(source="location.entities_processed", read_only=True,
                                          help_text="last time its location was processed")

    class Meta:
        model = Entity
        fields = [
            "uid", "ref", "kind", "namespace", "name", "title", "description", "type", "lifecycle", "owner",
            "system", "domain", "tags", "visibility", "owner_team", "location", "source_path", "doc_index", "line",
            "commit", "processed", "orphaned", "url", "data",
        ]
        read_only_fields = [f for f in fields if f != "visibility"]


class EntityListSerializer(EntitySerializer):
    class Meta(EntitySerializer.Meta):
        fields = [f for f in EntitySerializer.Meta.fields if f != "data"]
        read_only_fields = fields


class EntityValidateSerializer(serializers.Serializer):
    document = serializers.JSONField(help_text="A raw entity document (as parsed from YAML)")


class FieldErrorSerializer(serializers.Serializer):
    field = serializers.CharField()
    message = serializers.CharField()


class ValidationResultSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    errors = FieldErrorSerializer(many=True)


class LocationErrorSerializer(serializers.ModelSerializer):
    class Meta:
        model = LocationError
        fields = ["path", "doc_index", "line", "field", "entity_ref", "code", "message"]


class LocationSerializer(serializers.ModelSerializer):
    owner_team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all(), required=False,
                                              allow_null=True)
    type = serializers.ChoiceField(choices=LocationType.choices, default=LocationType.GIT)
    visibility = serializers.ChoiceField(choices=Visibility.choices, default=Visibility.PUBLIC)
    branch = serializers.CharField(required=False, allow_blank=True, default="")
    path = serializers.CharField(required=False, default="catalog-info.yaml")

    class Meta:
        model = Location
        fields = ["id", "type", "target", "branch", "path", "owner_team", "visibility", "status", "status_message",
                  "last_commit", "last_refreshed", "last_report"]
        read_only_fields = ["id", "status", "status_message", "last_commit", "last_refreshed", "last_report"]
        validators = []  # uniqueness is the service's to report


class RelationSerializer(serializers.Serializer):
    source_ref = serializers.CharField()
    type = serializers.CharField()
    target_ref = serializers.CharField()
