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
from catalog.models.scaffolder import (
    FINAL_STATES,
    RunState,
    ScaffolderEvent,
    ScaffolderRun,
    ScaffolderRunGroupObjectPermission,
    ScaffolderRunStep,
    ScaffolderRunUserObjectPermission,
    StepState,
)

__all__ = [
    "FINAL_STATES", "RunState", "ScaffolderEvent", "ScaffolderRun", "ScaffolderRunGroupObjectPermission",
    "ScaffolderRunStep", "ScaffolderRunUserObjectPermission", "StepState",
    "CatalogIdentity", "CatalogMembership",
    "Entity", "EntityDocument", "EntityGroupObjectPermission", "EntityUserObjectPermission", "Location", "LocationError",
    "LocationGroupObjectPermission", "LocationUserObjectPermission", "Relation",
]
