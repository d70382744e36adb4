from catalog.models.entities import (
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
    "CatalogMembership",
    "Entity", "EntityDocument", "EntityGroupObjectPermission", "EntityUserObjectPermission", "Location", "LocationError",
    "LocationGroupObjectPermission", "LocationUserObjectPermission", "Relation",
]
