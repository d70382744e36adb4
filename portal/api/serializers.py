from rest_framework import serializers

from portal.models import AuditEvent, MembershipRole, Team, TeamMembership
from portal.models.teams import slug_validator


class TeamMembershipSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = TeamMembership
        fields = ["username", "role"]


class TeamSerializer(serializers.ModelSerializer):
    slug = serializers.CharField(max_length=63, validators=[slug_validator])
    memberships = TeamMembershipSerializer(many=True, read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="team-detail", lookup_field="slug")

    class Meta:
        model = Team
        fields = ["url", "slug", "name", "description", "email", "memberships", "created", "updated"]
        read_only_fields = ["created", "updated"]

    def validate_slug(self, value):
        if self.instance is not None and value != self.instance.slug:
            raise serializers.ValidationError("A team's slug cannot change.")
        if self.instance is None and Team.objects.filter(slug=value).exists():
            raise serializers.ValidationError(f"A team with slug {value!r} already exists.")
        return value


class TeamMemberWriteSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=MembershipRole.choices)


class AuditEventSerializer(serializers.ModelSerializer):
    object_type = serializers.SerializerMethodField()
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = AuditEvent
        fields = ["id", "timestamp", "actor_name", "action", "object_type", "object_id", "object_repr", "team", "changes"]

    def get_object_type(self, obj) -> str:
        return f"{obj.content_type.app_label}.{obj.content_type.model}" if obj.content_type_id else ""
