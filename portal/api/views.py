from django.contrib.auth import get_user_model
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from portal import selectors, services
from portal.api.serializers import AuditEventSerializer, TeamMemberWriteSerializer, TeamSerializer
from portal.api.viewsets import PortalViewSet
from portal.filtersets import AuditEventFilterSet, TeamFilterSet
from portal.models import TeamMembership


class TeamViewSet(PortalViewSet):
    """Teams and their members; platform admins create teams, team admins manage members."""

    selector = selectors.team_list
    serializer_class = TeamSerializer
    filterset_class = TeamFilterSet
    lookup_field = "slug"
    object_actions = {"members": "change"}  # team admins (change_team on the team) and platform admins

    def get_queryset(self):
        # Members with their users in one query, not one per member.
        return super().get_queryset().prefetch_related(Prefetch("memberships", queryset=TeamMembership.objects.select_related("user")))

    @staticmethod
    def create_service(*, actor, slug, name, description="", email=""):
        return services.team_create(actor=actor, slug=slug, name=name, description=description, email=email)

    @staticmethod
    def update_service(*, actor, obj, slug=None, name=None, description=None, email=None):
        return services.team_update(
            actor=actor,
            team=obj,
            name=obj.name if name is None else name,
            description=obj.description if description is None else description,
            email=obj.email if email is None else email,
        )

    @extend_schema(request=TeamMemberWriteSerializer, responses=TeamSerializer)
    @action(detail=True, methods=["post"], url_path="members")
    def members(self, request, slug=None):
        """Add a member or change a member's role (team admins and platform admins)."""
        team = self.get_object()
        payload = TeamMemberWriteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        user = get_user_model().objects.filter(username=payload.validated_data["username"]).first()
        if user is None:
            raise ValidationError({"username": [f"No user named {payload.validated_data['username']!r}."]})
        services.team_membership_set(actor=request.user, team=team, user=user, role=payload.validated_data["role"])
        return Response(self.get_serializer(self.get_queryset().get(pk=team.pk)).data)


class AuditEventViewSet(PortalViewSet):
    """The audit log (read only): who did what to which object, as far as the caller may read it."""

    selector = selectors.audit_event_list
    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilterSet


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    is_platform_admin = serializers.BooleanField()
    teams = serializers.ListField(child=serializers.DictField())


class MeView(APIView):
    """The caller: username, platform-admin flag and team roles."""

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        """Who the caller is, and their teams and roles."""
        memberships = request.user.memberships.select_related("team")
        return Response(
            {
                "username": request.user.username,
                "is_platform_admin": request.user.is_superuser,
                "teams": [{"slug": m.team.slug, "role": m.role} for m in memberships],
            }
        )
