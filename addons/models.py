"""What users pinned from a VAN's Grafana onto the pages of an app, a cluster or the VAN itself."""
from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models


class DashboardPin(models.Model):
    """A Grafana dashboard of ``van``'s hub, embedded on the page of ``target`` (an App, a Cluster or the Van).

    Pinned and unpinned by whoever may change the target; shown to whoever may see both the target and the VAN.
    The title and path are Grafana's at the time of pinning (the uid was checked against the VAN's Grafana).
    """

    van = models.ForeignKey("van.Van", on_delete=models.CASCADE, related_name="dashboard_pins")
    target_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    target_id = models.PositiveBigIntegerField()
    target = GenericForeignKey("target_type", "target_id")
    uid = models.CharField(max_length=100)
    title = models.CharField(max_length=200)
    path = models.CharField(max_length=500, help_text="Grafana's /d/<uid>/<slug>.")
    origin = models.CharField(max_length=300, help_text="The Grafana it was pinned from: shown only while the VAN's "
                              "Grafana is still there (a VAN pointed elsewhere does not frame the new origin on others' pages).")
    pinned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title", "pk"]
        constraints = [models.UniqueConstraint(fields=["van", "target_type", "target_id", "uid"], name="unique_dashboard_pin")]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.title} on {self.target_type.model} {self.target_id}"
