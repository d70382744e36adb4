from portal.models.base import CreatedForATeam, OwnedModel, PortalModel, RestrictedQuerySet, Visibility
from portal.models.teams import MembershipRole, Team, TeamMembership
from portal.models.audit import AuditEvent
from portal.models.tokens import ApiToken
from portal.models.leases import Lease

__all__ = [
    "ApiToken",
    "AuditEvent",
    "MembershipRole",
    "CreatedForATeam",
    "Lease",
    "OwnedModel",
    "PortalModel",
    "RestrictedQuerySet",
    "Team",
    "TeamMembership",
    "Visibility",
]
