from catalog.models.entities import (
    CatalogIdentity,
    CatalogMembership,
    Entity,
    EntityDocument,
    EntityGroupObjectPermission,
    EntityUserObjectPermission,
    Relation,
)
from catalog.models.locations import (
    Location,
    LocationError,
    LocationGroupObjectPermission,
    LocationUserObjectPermission,
)

__all__ = [
    "CatalogIdentity", "CatalogMembership",
    "Entity", "EntityDocument", "EntityGroupObjectPermission", "EntityUserObjectPermission", "Location", "LocationError",
    "LocationGroupObjectPermission", "LocationUserObjectPermission", "Relation",
]
