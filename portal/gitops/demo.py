"""Demo data for the GitOps engine: the default repo (a local bare repo) and Prod approvers."""
from __future__ import annotations


def seed(*, actor=None):
    """Create the default GitOps repo with its initial commit; the Platform team approves Prod changes."""
    from portal.gitops.models import Environment
    from portal.gitops.services import gitops_default_repo
    from portal.models import Team

    gitops_default_repo()
    platform = Team.objects.filter(slug="platform").first()
    if platform is not None:
        Environment.objects.filter(slug="prod", approver_team__isnull=True).update(approver_team=platform)
    return actor
