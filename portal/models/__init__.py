from portal.models.base import CreatedForATeam, OwnedModel, PortalModel, RestrictedQuerySet, Visibility
from portal.models.teams import MembershipRole, Team, TeamMembership
from portal.models.audit import AuditEvent
from portal.models.tokens import ApiToken

__all__ = [
    "ApiToken",
    "AuditEvent",
    "MembershipRole",
    "CreatedForATeam",
    "OwnedModel",
    "PortalModel",
    "RestrictedQuerySet",
    "Team",
    "TeamMembership",
    "Visibility",
]
