from django.db import models


class Environment(models.TextChoices):
    DEV = "dev", "Dev"
    QA = "qa", "QA"
    STAGING = "staging", "Staging"
    PROD = "prod", "Prod"


class Provider(models.TextChoices):
    EKS = "eks", "Amazon EKS"
    AKS = "aks", "Azure AKS"
    GKE = "gke", "Google GKE"
    OPENSHIFT = "openshift", "OpenShift"
    ONPREM = "onprem", "On-prem"
    OTHER = "other", "Other"
