from django.db import models


class LocationType(models.TextChoices):
    GIT = "git", "Git repository"
    PATH = "path", "Local directory"


class LocationStatus(models.TextChoices):
    PENDING = "pending", "Not processed yet"
    OK = "ok", "Processed"
    ERRORS = "errors", "Processed with errors"
    FAILED = "failed", "Could not be read"


class ErrorCode(models.TextChoices):
    INVALID = "invalid", "Invalid entity"
    CONFLICT = "conflict", "Conflicting entity ref"
    UNREADABLE = "unreadable", "Unreadable"


KINDS = ("Component", "API", "System", "Domain", "Resource", "Group", "User", "Template", "Location")
