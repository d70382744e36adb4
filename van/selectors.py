"""Read selectors for VANs, clusters and apps."""
from __future__ import annotations

from django.db.models import QuerySet

from van.models import Cluster


def cluster_list(*, user, filters: dict | None = None) -> QuerySet[Cluster]:
    """Clusters the user may see."""
    return Cluster.objects.restrict(user, "view").select_related("owner_team").filter(**(filters or {}))
