from django.core.validators import RegexValidator
from django.db import models
from django.urls import reverse

from portal.models import OwnedModel
from van.choices import Environment, Provider

dns_label_validator = RegexValidator(
    r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$",
    "Use 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit (a DNS label).",
)


class Cluster(OwnedModel):
    """A Kubernetes cluster that Wayline deploys to through ArgoCD. Wayline never installs one."""

    name = models.CharField(max_length=63, unique=True, validators=[dns_label_validator])
    description = models.TextField(blank=True)
    environment = models.CharField(max_length=16, choices=Environment.choices, default=Environment.DEV)
    provider = models.CharField(max_length=16, choices=Provider.choices, default=Provider.OTHER)
    api_url = models.URLField("API server URL", max_length=500)
    tags = models.JSONField(default=list, blank=True, help_text="Plain tags (gpu) or key=value tags (region=eu).")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("van:cluster", kwargs={"pk": self.pk})
