from django.db import models

from portal.gitops import environments


# A cluster's and a rule's environments: the portal's, from their one definition.
Environment = models.TextChoices("Environment", [(slug.upper(), (slug, name)) for slug, name, _ in environments.DEFAULTS])


class Provider(models.TextChoices):
    EKS = "eks", "Amazon EKS"
    AKS = "aks", "Azure AKS"
    GKE = "gke", "Google GKE"
    OPENSHIFT = "openshift", "OpenShift"
    ONPREM = "onprem", "On-prem"
    OTHER = "other", "Other"


class CredentialsKind(models.TextChoices):
    NONE = "", "None (the hub itself: ArgoCD's in-cluster access)"
    TOKEN = "token", "Bearer token"
    KUBECONFIG = "kubeconfig", "Kubeconfig"


class ClusterRole(models.TextChoices):
    HUB = "hub", "Hub"
    EDGE = "edge", "Edge"


class Reachability(models.TextChoices):
    INGRESS = "ingress", "Ingress"
    LOADBALANCER = "loadbalancer", "LoadBalancer"
    NODEPORT = "nodeport", "NodePort"


class SourceKind(models.TextChoices):
    DIRECTORY = "directory", "Plain YAML (git)"
    KUSTOMIZE = "kustomize", "Kustomize (git)"
    HELM = "helm", "Helm chart"


class AppMatch(models.TextChoices):
    ALL = "all", "all of the tags"
    ANY = "any", "any of the tags"


class SyncMode(models.TextChoices):
    AUTOMATED = "automated", "Automated"
    MANUAL = "manual", "Manual"
