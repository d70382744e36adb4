from catalog.models.entities import Entity, EntityGroupObjectPermission, EntityUserObjectPermission, Relation
from catalog.models.locations import Location, LocationError

__all__ = [
    "Entity", "EntityGroupObjectPermission", "EntityUserObjectPermission", "Location", "LocationError", "Relation",
]
