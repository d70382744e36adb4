"""Scaffolder runs: one row per run of a golden-path template, its steps (the checkpoints a resumed run starts
from) and its events (the log, in Backstage's event shape).

A run is owned by a team like a VAN: that team's readers see it when it is private (the default, since its
parameters are the team's), its editors cancel and retry it. Steps and events follow their run.
"""
from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from portal.crypto import EncryptedTextField
from portal.models import OwnedModel, PortalModel, Visibility


class RunState(models.TextChoices):
    OPEN = "open", "Open"
    PROCESSING = "processing", "Processing"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINAL_STATES = (RunState.COMPLETED, RunState.FAILED, RunState.CANCELLED)


class StepState(models.TextChoices):
    OPEN = "open", "Open"
    PROCESSING = "processing", "Processing"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"
    CANCELLED = "cancelled", "Cancelled"


class ScaffolderRun(OwnedModel):
    """One run of a template, with what it was given and how far it got."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, help_text="the task id of Backstage's API")
    template_ref = models.CharField(max_length=400)
    template_title = models.CharField(max_length=500, blank=True)
    template_location = models.ForeignKey("catalog.Location", null=True, blank=True, on_delete=models.SET_NULL,
                                          related_name="+")
    template_source_path = models.CharField(max_length=1000, blank=True)
    template_commit = models.CharField(max_length=64, blank=True)
    template_etag = models.CharField(max_length=40, blank=True, help_text="the template's version when the run began")
    template_data = models.JSONField(help_text="the Template entity as it was when the run began")
    parameters = models.JSONField(default=dict, blank=True, help_text="the values given; secret fields are left out")
    secrets = EncryptedTextField(blank=True, help_text="secret values (JSON), encrypted; erased when the run ends")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    state = models.CharField(max_length=16, choices=RunState.choices, default=RunState.OPEN, db_index=True)
    output = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    holder = models.CharField(max_length=200, blank=True, help_text="the worker running it now")
    heartbeat = models.DateTimeField(null=True, blank=True, help_text="last sign of life of that worker")
    attempts = models.PositiveIntegerField(default=0, help_text="executions begun (a resumed run adds one)")
    finished = models.DateTimeField(null=True, blank=True)
    visibility = models.CharField(max_length=16, choices=Visibility.choices, default=Visibility.PRIVATE)

    domain_actions = {"cancel": "change", "retry": "change"}

    class Meta:
        ordering = ["-created", "-pk"]
        indexes = [models.Index(fields=["created_by", "-created"], name="catalog_run_by_user")]

    def __str__(self) -> str:
        return f"{self.template_title or self.template_ref} ({str(self.uid)[:8]})"

    def get_absolute_url(self) -> str:
        return reverse("catalog:run", kwargs={"uid": self.uid})

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES


class ScaffolderRunStep(PortalModel):
    """One step of a run: its state and output. A completed step is a checkpoint: a resumed run does not repeat
    what it did outside the workspace (a repository, a catalog location, a change set)."""

    run = models.ForeignKey(ScaffolderRun, on_delete=models.CASCADE, related_name="steps")
    index = models.PositiveIntegerField()
    step_id = models.CharField(max_length=200)
    name = models.CharField(max_length=500, blank=True)
    action = models.CharField(max_length=200)
    state = models.CharField(max_length=16, choices=StepState.choices, default=StepState.OPEN)
    output = models.JSONField(default=dict, blank=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    permission_parent = "run"

    class Meta:
        ordering = ["run", "index"]
        constraints = [models.UniqueConstraint(fields=["run", "index"], name="catalog_run_step_unique")]


class ScaffolderEvent(models.Model):
    """One line of a run's log or a change of its state, as Backstage's task events are:
    ``{id, taskId, type, body, createdAt}`` with type log, completion, cancelled or recovered."""

    run = models.ForeignKey(ScaffolderRun, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=16)
    body = models.JSONField(default=dict)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "pk"]


class ScaffolderRunUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(ScaffolderRun, on_delete=models.CASCADE)


class ScaffolderRunGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(ScaffolderRun, on_delete=models.CASCADE)
