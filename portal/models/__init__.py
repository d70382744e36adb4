from portal.models.base import OwnedModel, PortalModel, RestrictedQuerySet, Visibility
from portal.models.teams import MembershipRole, Team, TeamMembership
from portal.models.audit import AuditEvent
from portal.models.tokens import ApiToken

__all__ = [
    "ApiToken",
    "AuditEvent",
    "MembershipRole",
    "OwnedModel",
    "PortalModel",
    "RestrictedQuerySet",
    "Team",
    "TeamMembership",
    "Visibility",
]
