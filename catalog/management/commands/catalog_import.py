"""``manage.py catalog_import LOCATION [--branch B] [--path GLOB]``: register a location and process it now."""
from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from catalog import services
from catalog.choices import LocationType
from catalog.models import Location


class Command(BaseCommand):
    help = (
        "Register a catalog location (git URL, or a directory on this machine) and process it synchronously: "
        "prints entities added/updated/removed, errors and the time taken. Exits non-zero when the location "
        "cannot be read."
    )

    def add_arguments(self, parser):
        parser.add_argument("location", help="git URL, a local git repository, or a directory")
        parser.add_argument("--branch", default="", help="git branch (default: the repository's default branch)")
        parser.add_argument("--path", default=None,
                            help="file or glob inside the location (default: catalog-info.yaml; '**/*.yaml' for all)")
        parser.add_argument("--team", default=None, help="slug of the portal team that owns the location")
        parser.add_argument("--directory", action="store_true",
                            help="the organisation's directory: its Groups and Users become portal teams and members")
        parser.add_argument("--plain-directory", action="store_true",
                            help="read a local directory as it is, even if it is a git repository")

    def handle(self, *args, location, branch, path, team, plain_directory, directory, **options):
        from portal.models import Team

        owner_team = None
        if team:
            owner_team = Team.objects.filter(slug=team).first()
            if owner_team is None:
                raise CommandError(f"no team with slug {team!r}")
        local = Path(location).expanduser()
        if local.exists():
            location = str(local.resolve())
            if local.is_file():
                location, path = str(local.resolve().parent), path or local.name
            is_git = (Path(location) / ".git").exists()
            kind = LocationType.GIT if is_git and not plain_directory else LocationType.PATH
        else:
            kind = LocationType.GIT
        path = path or "catalog-info.yaml"
        existing = Location.objects.filter(type=kind, target=location, branch=branch, path=path).first()
        created = existing is None
        if created:
            try:
                existing = services.location_register(actor=None, type=kind, target=location, branch=branch, path=path,
                                                      owner_team=owner_team, directory=directory, refresh=False)
            except ValidationError as exc:
                problems = [f"{field}: {message}" for field, messages in exc.message_dict.items() for message in messages]
                raise CommandError("cannot register the location: " + "; ".join(problems)) from None
            self.stdout.write(f"Registered location #{existing.pk}: {existing}")
        else:
            self.stdout.write(f"Location #{existing.pk} already registered: {existing}")
            if directory and not existing.is_directory:
                services.location_directory_set(actor=None, location=existing, directory=True)
        report = services.location_refresh(actor=None, location_id=existing.pk)
        if report.failure:
            if created:
                # Never readable: do not leave it for the periodic refresh to retry forever.
                services.location_delete(actor=None, location=existing)
            raise CommandError(f"cannot read the location: {report.failure}")
        for line in report.error_list:
            self.stdout.write(f"  error: {line}")
        self.stdout.write(
            f"commit {report.commit[:12] or '-'}: {report.files} files, {report.added} added, {report.updated} updated, "
            f"{report.unchanged} unchanged, {report.removed} removed, {report.orphaned} orphaned, "
            f"{report.errors} errors in {report.seconds:.2f}s"
        )
