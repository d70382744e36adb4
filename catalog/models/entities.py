from __future__ import annotations

import uuid
from functools import lru_cache
from urllib.parse import quote

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import get_script_prefix, get_urlconf, reverse

from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from portal.models import PortalModel, Visibility


_URL_SAFE = "!$&'()*+,;=~:@"  # what reverse() leaves unquoted in a path segment (RFC 3986 sub-delims, ~ : @)
_MARKERS = ("kind", "namespace", "name")


@lru_cache(maxsize=16)
def _entity_url_template(script_prefix: str, urlconf) -> str:
    url = reverse("catalog:entity", kwargs={key: f"--{key}--" for key in _MARKERS})
    url = url.replace("{", "{{").replace("}", "}}")
    for key in _MARKERS:
        url = url.replace(f"--{key}--", "{%s}" % key)
    return url


def entity_url(kind: str, namespace: str, name: str) -> str:
    """The entity page's URL, as ``reverse("catalog:entity", ...)`` gives it, without resolving per row.

    Lists of 25-100 entities called reverse() for every row; the pattern is
    reversed once (per script prefix / urlconf) and the values quoted into it.
    """
    template = _entity_url_template(get_script_prefix(), get_urlconf())
    return template.format(kind=quote(kind.lower(), safe=_URL_SAFE), namespace=quote(namespace, safe=_URL_SAFE),
                           name=quote(name, safe=_URL_SAFE))


class Entity(PortalModel):
    """A catalog entity as its location supplied it, with the columns pages filter on.

    ``data`` is the whole document (placeholders resolved, namespace defaulted);
    ``source_text`` the YAML as written; both live in ``EntityDocument``. The owner is a catalog ref
    (``owner``); when it names a Group mapped to a portal team, that team is
    ``owner_team`` and its members may change the entity's portal-side
    settings (visibility).
    """

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    ref = models.CharField(max_length=400, help_text="kind:namespace/name in lower case")  # unique: see Meta
    kind = models.CharField(max_length=63)
    namespace = models.CharField(max_length=63, default="default")
    name = models.CharField(max_length=63)
    title = models.CharField(max_length=500, blank=True)
    description = models.TextField(blank=True)
    type = models.CharField(max_length=200, blank=True)
    lifecycle = models.CharField(max_length=200, blank=True)
    owner = models.CharField(max_length=400, blank=True, help_text="owner ref in lower case")
    system = models.CharField(max_length=400, blank=True)
    domain = models.CharField(max_length=400, blank=True)
    tags = models.JSONField(default=list, blank=True)
    tag_index = models.CharField(max_length=2000, blank=True, help_text="|tag|tag| for exact tag filters")

    # Indexed by (location, ref) below, which serves lookups by location too.
    location = models.ForeignKey("catalog.Location", on_delete=models.CASCADE, related_name="entities", db_index=False)
    source_path = models.CharField(max_length=1000)
    doc_index = models.PositiveIntegerField(default=0)
    line = models.PositiveIntegerField(default=1)
    commit = models.CharField(max_length=64, blank=True, help_text="commit the current version was read from")
    hash = models.CharField(max_length=40)
    etag = models.CharField(max_length=40)
    orphaned = models.DateTimeField(null=True, blank=True, help_text="when its location stopped supplying it")

    # Not indexed: nothing looks entities up by owning team except deleting a team (rare, a scan is fine),
    # and each index is written on every imported row.
    owner_team = models.ForeignKey(
        "portal.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name="owning team",
        db_index=False,
    )
    team = models.OneToOneField(
        "portal.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="catalog_group",
        help_text="for a Group: the portal team it maps onto",
    )
    visibility = models.CharField(max_length=16, choices=Visibility.choices, default=Visibility.PUBLIC)

    search_text = models.TextField(blank=True, help_text="name, title, description and tags, lower case")

    class Meta:
        ordering = ["kind", "namespace", "name"]
        verbose_name_plural = "entities"
        # Plain b-tree indexes (and the unique ref) declared here rather than with db_index/unique=True: on
        # PostgreSQL those also add a varchar_pattern_ops twin per column for LIKE 'x%', which nothing
        # here runs, and each index is written on every inserted row. No index on visibility (two
        # values, OR-ed with the object permissions anyway) nor on domain (filtered only by the
        # Backstage API, which compares UPPER(domain)).
        constraints = [models.UniqueConstraint(fields=["ref"], name="catalog_entity_ref_unique")]
        indexes = [
            models.Index(fields=["location", "ref"], name="catalog_entity_loc_ref"),
            *(models.Index(fields=[column], name=f"catalog_entity_{column}")
              for column in ("kind", "namespace", "name", "type", "lifecycle", "owner", "system")),
        ]

    def __str__(self) -> str:
        return self.ref

    def get_absolute_url(self) -> str:
        return entity_url(self.kind, self.namespace, self.name)

    @property
    def url(self) -> str:
        """The entity page's URL (an attribute, so serialisers read it without inspecting a callable)."""
        return entity_url(self.kind, self.namespace, self.name)

    @property
    def data(self) -> dict:
        """The whole document (read with ``select_related("document")`` where many rows need it)."""
        return self.document.data

    @property
    def source_text(self) -> str:
        return self.document.source_text

    @property
    def display_name(self) -> str:
        return self.title or self.name

    @property
    def processed(self):
        """Last time its location was processed (every entity of a location shares it; read with the location)."""
        return self.location.entities_processed

    @classmethod
    def public_q(cls) -> Q | None:
        return Q(visibility=Visibility.PUBLIC)


class EntityDocument(models.Model):
    """An entity's whole document and its YAML source, in a table of their own.

    They are ~850 of a ~1,350-byte entity row. Counts, filters and searches
    scan the entity table; with the documents inline every scan read them too
    (10,000 entities: ~1,950 pages on PostgreSQL). Pages and APIs that show a
    document read it by id. No database constraint, as for relations: the row
    is written with its entity and Django's delete collector removes it.
    """

    entity = models.OneToOneField(Entity, on_delete=models.CASCADE, primary_key=True, related_name="document",
                                  db_constraint=False)
    data = models.JSONField()
    source_text = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"document of entity {self.entity_id}"


class Relation(models.Model):
    """One directed relation, stored as Backstage stores it: by refs, with the entity whose spec produced it.

    Both directions are rows (``ownedBy`` from the component, ``ownerOf`` from
    the group side), so ``source_ref = X`` lists every relation of X. A target
    that no entity has is kept; pages flag it as missing.
    """

    # No database-level constraint (see EntityGroupObjectPermission): Django's delete collector removes the
    # relations of a deleted entity, and rows are only ever inserted for entities of the same transaction.
    originating = models.ForeignKey(Entity, on_delete=models.CASCADE, related_name="emitted_relations",
                                    db_constraint=False)
    source_ref = models.CharField(max_length=400)
    type = models.CharField(max_length=63)
    target_ref = models.CharField(max_length=400)

    class Meta:
        ordering = ["source_ref", "type", "target_ref"]
        indexes = [models.Index(fields=["source_ref"], name="catalog_relation_source"),
                   models.Index(fields=["target_ref"], name="catalog_relation_target")]

    def __str__(self) -> str:
        return f"{self.source_ref} {self.type} {self.target_ref}"


class EntityUserObjectPermission(UserObjectPermissionBase):
    """django-guardian object permissions on entities, with a real foreign key.

    guardian uses these "direct" tables for ``Entity`` automatically (in
    ``restrict``'s ``get_objects_for_user`` and in ``assign_perm``): an integer
    join instead of casting every entity id to text, which keeps permission
    filtering fast with tens of thousands of entities; rows go with their entity.
    """

    content_object = models.ForeignKey(Entity, on_delete=models.CASCADE)


class EntityGroupObjectPermission(GroupObjectPermissionBase):
    """Team grants on entities: two rows per owned entity, written in bulk by every import.

    The foreign keys keep ``on_delete=CASCADE`` (Django's delete collector removes
    the rows with their entity, group or permission) but have no database
    constraint: PostgreSQL checks each constrained row with a trigger at commit,
    and for a 10,000-entity import the grants and relations were ~100,000
    checks, about a second of a five-second budget. Rows are only inserted for
    entities, groups and permissions read in the same transaction.
    """

    content_object = models.ForeignKey(Entity, on_delete=models.CASCADE, db_constraint=False)
    # Indexed as the first column of the (group, permission, content_object) unique constraint.
    group = models.ForeignKey("auth.Group", on_delete=models.CASCADE, db_constraint=False, db_index=False)
    permission = models.ForeignKey("auth.Permission", on_delete=models.CASCADE, db_constraint=False)


class CatalogMembership(models.Model):
    """A team membership that catalog ingestion added (so it may take it away again when git does),
    with the directory location and commit that caused it."""

    team = models.ForeignKey("portal.Team", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey("catalog.Location", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    commit = models.CharField(max_length=64, blank=True)
    entity_ref = models.CharField(max_length=400, blank=True, help_text="the Group or User entity that listed it")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="catalog_unique_membership")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} (from the catalog)"


class CatalogIdentity(models.Model):
    """Which portal user a catalog User entity is, by its full ref (namespace included).

    Written when directory ingestion creates the user, by a directory entity's
    ``wayline.io/username`` annotation, or by a platform admin; never inferred
    from a name alone.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="catalog_identity")
    ref = models.CharField(max_length=400, unique=True, help_text="user:namespace/name in lower case")

    class Meta:
        verbose_name_plural = "catalog identities"

    def __str__(self) -> str:
        return f"{self.user} is {self.ref}"
