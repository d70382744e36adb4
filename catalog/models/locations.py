from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.urls import reverse
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from catalog.choices import ErrorCode, LocationStatus, LocationType
from catalog.processing import describe_error
from portal.models import CreatedForATeam, PortalModel, Visibility
from portal.validators import git_branch_validator


class Location(CreatedForATeam, PortalModel):
    """Where entities come from: a git repository (URL, branch, path glob) or a local directory.

    Owned by a team (optional: locations registered by platform admins or
    ``catalog_import`` may have none); that team may refresh or delete it.
    """

    type = models.CharField(max_length=16, choices=LocationType.choices, default=LocationType.GIT)
    target = models.CharField(max_length=1000, help_text="Git URL, or a directory on the Wayline server")
    branch = models.CharField(max_length=255, blank=True, validators=[git_branch_validator],
                              help_text="Empty: the repository's default branch")
    path = models.CharField(
        max_length=1000, default="catalog-info.yaml", help_text="File or glob inside the location, e.g. **/catalog-info.yaml"
    )
    owner_team = models.ForeignKey(
        "portal.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name="owning team"
    )
    visibility = models.CharField(max_length=16, choices=Visibility.choices, default=Visibility.PUBLIC,
                                  help_text="private: its entities are private to the owning team")
    is_directory = models.BooleanField(
        default=False, verbose_name="organisation directory",
        help_text="Only a platform admin sets this: its Group and User entities become portal teams and memberships. "
                  "Groups and Users from any other location are catalog entries and grant nothing.",
    )
    entity_visibility = models.JSONField(
        default=dict, blank=True,
        help_text="per entity ref, the visibility its team chose (kept when the entity is re-created)",
    )
    status = models.CharField(max_length=16, choices=LocationStatus.choices, default=LocationStatus.PENDING)
    status_message = models.TextField(blank=True)
    last_commit = models.CharField(max_length=64, blank=True)
    last_refreshed = models.DateTimeField(null=True, blank=True)
    entities_processed = models.DateTimeField(
        null=True, blank=True,
        help_text="last time its entities were processed (one stamp for all of them: no row rewritten per refresh)",
    )
    last_report = models.JSONField(default=dict, blank=True)
    fingerprints = models.JSONField(default=dict, blank=True, help_text="per file: hash, dependencies, targets")
    refresh_started = models.DateTimeField(null=True, blank=True, help_text="set while a worker refreshes it")

    class Meta:
        ordering = ["target", "path"]
        constraints = [
            models.UniqueConstraint(fields=["type", "target", "branch", "path"], name="catalog_unique_location"),
        ]

    def __str__(self) -> str:
        branch = f"@{self.branch}" if self.branch else ""
        return f"{self.target}{branch}:{self.path}"

    def get_absolute_url(self) -> str:
        return reverse("catalog:location", kwargs={"pk": self.pk})

    @property
    def backstage_target(self) -> str:
        """The location as Backstage's API names it (type ``url`` or ``file``)."""
        if self.type == LocationType.PATH:
            return f"{self.target.rstrip('/')}/{self.path}"
        if not self.branch and self.path == "catalog-info.yaml":
            return self.target
        return f"{self.target.rstrip('/')}/blob/{self.branch or 'HEAD'}/{self.path}"

    @classmethod
    def public_q(cls) -> Q | None:
        return Q(visibility=Visibility.PUBLIC)


class LocationError(PortalModel):
    """A document (or file) a location could not turn into an entity, from its last refresh."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="errors")
    path = models.CharField(max_length=1000)
    doc_index = models.PositiveIntegerField(null=True, blank=True)
    line = models.PositiveIntegerField(null=True, blank=True)
    field = models.CharField(max_length=500, blank=True)
    message = models.TextField()
    entity_ref = models.CharField(max_length=500, blank=True)
    code = models.CharField(max_length=16, choices=ErrorCode.choices, default=ErrorCode.INVALID)

    class Meta:
        ordering = ["path", "doc_index", "pk"]

    def __str__(self) -> str:
        return describe_error(self)

    @classmethod
    def public_q(cls) -> Q | None:
        return Q(location__visibility=Visibility.PUBLIC)


class LocationUserObjectPermission(UserObjectPermissionBase):
    """django-guardian object permissions on locations with a real foreign key (they go with the location)."""

    content_object = models.ForeignKey(Location, on_delete=models.CASCADE)


class LocationGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Location, on_delete=models.CASCADE)
