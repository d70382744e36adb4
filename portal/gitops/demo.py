"""Demo GitOps setup: the local bare repository and the environments, with Prod approved by the platform team."""
from __future__ import annotations

from portal.gitops import environments
from portal.gitops.models import Environment
from portal.gitops.services import environments_ensure, gitops_default_repo
from portal.models import Team



def seed(*, actor=None):
    gitops_default_repo()  # creates the bare repo under the data dir on first use
    environments_ensure(environments.DEFAULTS)
    platform = Team.objects.filter(slug="platform").first()
    if platform is not None:
        Environment.objects.filter(slug="prod", approver_team__isnull=True).update(approver_team=platform)
    return actor
