"""Demo GitOps setup: the local bare repository and the environments, with Prod approved by the platform team."""
from __future__ import annotations

from portal.gitops import environments
from portal.gitops.models import Environment
from portal.gitops.services import environments_ensure, gitops_repo_init
from portal.models import Team


def seed(*, actor=None):
    gitops_repo_init(actor=actor)  # explicit setup: creates the bare repo under the data dir when missing, else refuses
    environments_ensure(environments.DEFAULTS)
    platform = Team.objects.filter(slug="platform").first()
    if platform is not None:
        Environment.objects.filter(slug="prod", approver_team__isnull=True).update(approver_team=platform)
    return actor
