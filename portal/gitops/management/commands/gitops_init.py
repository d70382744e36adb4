"""Set up the default GitOps repository: the only command that creates one.

    python manage.py gitops_init [--accept-current-head]

Creates the local bare repository at ``WAYLINE_GITOPS_URL`` (default
``$WAYLINE_DATA_DIR/gitops.git``) with an initial commit on ``WAYLINE_GITOPS_BRANCH``
when nothing is there, and registers it as the default repository. Run it once when
installing; running it again changes nothing. The portal never creates a repository by
itself: a missing one is an error state (``/healthz`` answers 503 naming it, changes
wait with the reason shown) until it is restored or this command runs.

It refuses to touch anything that exists: a folder that is neither empty nor a
repository, a repository Wayline wrote to that is missing now (restore it from a
backup), or one whose branch no longer holds the last commit Wayline confirmed (it was
replaced, or its history rewritten). After checking such a repository,
``--accept-current-head`` makes its branch as it is now (or, when it is missing, a new
empty one) the history Wayline follows; files Wayline wrote that it no longer holds are
then flagged as edited outside Wayline.
"""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from portal.gitops.gitrepo import display_url
from portal.gitops.services import gitops_repo_init


class Command(BaseCommand):
    help = ("Create the default local GitOps repository when it is missing (refuses to overwrite anything), and "
            "register it. --accept-current-head: follow a replaced or rewritten branch as it is now.")

    def add_arguments(self, parser):
        parser.add_argument(
            "--accept-current-head", action="store_true",
            help="Record the branch's current head (a new repository when it is missing) as the last one Wayline "
                 "confirmed, after a deliberate history rewrite or a restore from an older backup.",
        )

    def handle(self, *args, accept_current_head, **options):
        try:
            repo, done = gitops_repo_init(actor=None, accept_current_head=accept_current_head)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        where = f"{display_url(repo.url)} (branch {repo.branch})"
        head = repo.known_head[:12]
        if done == "created":
            self.stdout.write(self.style.SUCCESS(f"Created the GitOps repository {where} at {head}."))
        elif done == "accepted":
            self.stdout.write(self.style.WARNING(f"Wayline follows {where} from {head} on."))
        else:
            self.stdout.write(f"The GitOps repository {where} is there; nothing changed.")
