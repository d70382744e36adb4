from catalog.models.entities import Entity, Relation
from catalog.models.locations import Location, LocationError

__all__ = ["Entity", "Location", "LocationError", "Relation"]
