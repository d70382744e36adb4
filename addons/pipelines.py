"""The golden CI pipeline: Argo Events and Argo Workflows objects that end a build in a Wayline change set.

One pipeline per app, on one VAN's hub, in a namespace of its own (``ci-<app>``): its secrets, its EventBus and
its two service accounts are there and nowhere else, so one pipeline's code (run by its test step) can reach no
other pipeline's token or registry credentials. In that namespace:

- an ``EventSource`` (a webhook, ``Authorization: Bearer`` with a secret Wayline generated) that the app's git
  server calls on push;
- a ``Sensor`` that takes pushes to the app's branch naming a full commit SHA and submits a ``Workflow`` from
- a ``WorkflowTemplate``: test (the app's test command in its test image, on the commit), build (kaniko, pushing
  ``<image>:<sha>``), scan (Trivy, failing on critical findings) and propose: a short Python script that asks
  Wayline's API, with a token scoped to this app's version bumps, to set the app's version to the commit. Wayline
  then proposes the change set per VAN, approved like a click would be.

The Sensor submits as ``ci-submit`` (create workflows from the namespace's templates, nothing else); the workflow's
pods run as ``ci-run``, which may only report their steps' results. The VAN's Argo add-on renders the ApplicationSet
syncing each ``pipelines/<van>/<app>/`` folder to the hub.
"""
from __future__ import annotations

import hashlib
import re
from urllib.parse import urlsplit

from addons.rendering import LABEL_ADDON, hub_folders_applicationset
from van.rendering.spec import LABEL_APP, LABEL_MANAGED_BY, LABEL_VAN, VanSpec

PIPELINES_ROOT = "pipelines"
SUBMITTER = "ci-submit"  # the Sensor's: submits workflows
RUNNER = "ci-run"  # the workflow pods': report their results, nothing else
WEBHOOK_PORT = 12000
TOKEN_KEY = "token"
KANIKO_IMAGE = "gcr.io/kaniko-project/executor:v1.23.2"
TRIVY_IMAGE = "aquasec/trivy:0.56.2"
PROPOSE_IMAGE = "python:3.12-alpine"

# The last step. Standard library only (it runs in a plain Python image); reads its inputs from the environment the
# WorkflowTemplate sets, and fails the workflow with Wayline's answer when the bump is refused.
PROPOSE_SCRIPT = '''\
import json
import os
import sys
import urllib.error
import urllib.request

base = os.environ["WAYLINE_URL"].rstrip("/")
url = f"{base}/api/apps/{os.environ['WAYLINE_APP_ID']}/version/"
body = json.dumps({"version": os.environ["VERSION"]}).encode()
request = urllib.request.Request(url, data=body, method="POST", headers={
    "Authorization": "Bearer " + os.environ["WAYLINE_TOKEN"].strip(),
    "Content-Type": "application/json", "Accept": "application/json"})
try:
    with urllib.request.urlopen(request, timeout=60) as response:
        release = json.load(response)
except urllib.error.HTTPError as exc:
    print(f"Wayline refused the version bump: HTTP {exc.code}: {exc.read()[:2000].decode(errors='replace')}")
    sys.exit(1)
except urllib.error.URLError as exc:
    print(f"Wayline could not be reached at {base}: {exc.reason}")
    sys.exit(1)
changesets = release.get("changesets") or []
print(f"proposed version {release.get('version')}: {len(changesets)} change set(s)", *changesets, sep="\\n  ")
'''


def pipeline_name(app: str) -> str:
    """``ci-<app>`` (the pipeline's namespace and objects); for a long name ``ci<digest>-<start of the name>``, which
    no short form can equal (those have '-' after "ci"), so that ``<name>-eventsource-svc`` stays a DNS label."""
    if len(app) <= 44:
        return f"ci-{app}"
    return f"ci{hashlib.sha256(app.encode()).hexdigest()[:10]}-{app[:30].rstrip('-')}"


def token_secret_name(app: str) -> str:
    return f"{pipeline_name(app)}-wayline"


def webhook_secret_name(app: str) -> str:
    return f"{pipeline_name(app)}-webhook"


def registry_secret_name(app: str) -> str:
    """The registry credentials kaniko pushes with (a ``.dockerconfigjson``), in the pipeline's namespace: the app's
    team seals it for the hub."""
    return f"{pipeline_name(app)}-registry"


def branch_filter(branch: str) -> str:
    """The Sensor's filter on ``body.ref``: Argo Events matches string values as regular expressions, so the ref
    is escaped and anchored (``main`` must not match ``main-evil`` or ``x/refs/heads/main``)."""
    return "^" + re.escape(f"refs/heads/{branch}") + "$"


def build_context(repo_url: str, branch: str) -> str:
    """kaniko's git context for ``repo_url`` at the pushed commit: ``git://host/path#refs/heads/<branch>#<sha>``."""
    parts = urlsplit(repo_url)
    return f"git://{parts.netloc}{parts.path}#refs/heads/{branch}#{{{{workflow.parameters.revision}}}}"


def pipeline_objects(*, van: str, app: str, app_id: int, repo_url: str, branch: str, image: str,
                     test_image: str, test_command: str, wayline_url: str) -> dict[str, dict]:
    """The pipeline's namespace and what runs in it, by file name (its Secrets are sealed apart, for that namespace)."""
    name = pipeline_name(app)
    namespace = name
    labels = {LABEL_VAN: van, LABEL_APP: app, LABEL_ADDON: "argo-workflows", LABEL_MANAGED_BY: "wayline"}
    meta = {"name": name, "namespace": namespace, "labels": labels}
    revision = "{{workflow.parameters.revision}}"
    event_source = {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "EventSource", "metadata": meta,
        "spec": {
            "service": {"ports": [{"port": WEBHOOK_PORT, "targetPort": WEBHOOK_PORT}]},
            "webhook": {"push": {
                "endpoint": "/push", "method": "POST", "port": str(WEBHOOK_PORT),
                "url": f"http://{name}-eventsource-svc.{namespace}.svc:{WEBHOOK_PORT}",
                "authSecret": {"name": webhook_secret_name(app), "key": TOKEN_KEY},
            }},
        },
    }
    workflow = {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
        "metadata": {"generateName": f"{name}-", "labels": labels},
        "spec": {"workflowTemplateRef": {"name": name}, "arguments": {"parameters": [{"name": "revision", "value": ""}]}},
    }
    sensor = {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Sensor", "metadata": meta,
        "spec": {
            "template": {"serviceAccountName": SUBMITTER},
            "dependencies": [{
                "name": "push", "eventSourceName": name, "eventName": "push",
                # GitHub, GitLab and Gitea push bodies: the branch pushed and the commit it now points at
                "filters": {"data": [
                    {"path": "body.ref", "type": "string", "value": [branch_filter(branch)]},
                    {"path": "body.after", "type": "string", "value": ["^[0-9a-f]{40}$"]},
                ]},
            }],
            "triggers": [{"template": {"name": name, "argoWorkflow": {
                "operation": "submit",
                "source": {"resource": workflow},
                "parameters": [{"src": {"dependencyName": "push", "dataKey": "body.after"},
                                "dest": "spec.arguments.parameters.0.value"}],
            }}}],
        },
    }
    tagged = f"{image}:{revision}"
    template = {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowTemplate", "metadata": meta,
        "spec": {
            "serviceAccountName": RUNNER,
            "entrypoint": "ci",
            "arguments": {"parameters": [{"name": "revision"}]},
            "volumes": [{"name": "registry", "secret": {
                "secretName": registry_secret_name(app), "optional": True,
                "items": [{"key": ".dockerconfigjson", "path": "config.json"}]}}],
            "templates": [
                {"name": "ci", "steps": [[{"name": step, "template": step}] for step in ("test", "build", "scan", "propose")]},
                {"name": "test",
                 "inputs": {"artifacts": [{"name": "source", "path": "/src", "git": {"repo": repo_url, "revision": revision}}]},
                 "container": {"image": test_image, "command": ["sh", "-c"], "args": [test_command], "workingDir": "/src"}},
                {"name": "build",
                 "container": {"image": KANIKO_IMAGE,
                               "args": [f"--context={build_context(repo_url, branch)}", f"--destination={tagged}"],
                               "volumeMounts": [{"name": "registry", "mountPath": "/kaniko/.docker"}]}},
                {"name": "scan",
                 "container": {"image": TRIVY_IMAGE,
                               "args": ["image", "--exit-code", "1", "--severity", "CRITICAL", "--no-progress", tagged],
                               "volumeMounts": [{"name": "registry", "mountPath": "/root/.docker"}]}},
                {"name": "propose",
                 "script": {"image": PROPOSE_IMAGE, "command": ["python"], "source": PROPOSE_SCRIPT, "env": [
                     {"name": "WAYLINE_URL", "value": wayline_url},
                     {"name": "WAYLINE_APP_ID", "value": str(app_id)},
                     {"name": "VERSION", "value": revision},
                     {"name": "WAYLINE_TOKEN", "valueFrom": {"secretKeyRef": {"name": token_secret_name(app), "key": TOKEN_KEY}}},
                 ]}},
            ],
        },
    }
    return {"namespace.yaml": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": labels}},
            **access_objects(namespace=namespace, labels=labels),
            "eventbus.yaml": {"apiVersion": "argoproj.io/v1alpha1", "kind": "EventBus",
                              "metadata": {"name": "default", "namespace": namespace, "labels": labels},
                              # one small bus per pipeline (a push now and then): one NATS server, streams of one replica
                              "spec": {"jetstream": {"version": JETSTREAM_VERSION, "replicas": 1,
                                                     "streamConfig": "replicas: 1\n"}}},
            "eventsource.yaml": event_source, "sensor.yaml": sensor, "workflowtemplate.yaml": template}


JETSTREAM_VERSION = "2.10.10"


def access_objects(*, namespace: str, labels: dict) -> dict[str, dict]:
    """The two service accounts of one pipeline's namespace and their only rights: the Sensor's may create workflows
    there (from the namespace's templates); the workflow pods' may report their steps' results. Neither may read a
    Secret, so the pushed code a test step runs learns nothing it was not given."""
    meta = lambda name: {"name": name, "namespace": namespace, "labels": labels}  # noqa: E731
    rules = {
        SUBMITTER: [{"apiGroups": ["argoproj.io"], "resources": ["workflows"], "verbs": ["create"]},
                    {"apiGroups": ["argoproj.io"], "resources": ["workflowtemplates"], "verbs": ["get"]}],
        RUNNER: [{"apiGroups": ["argoproj.io"], "resources": ["workflowtaskresults"], "verbs": ["create", "patch"]}],
    }
    out = {}
    for account, granted in rules.items():
        out[f"{account}.serviceaccount.yaml"] = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(account)}
        out[f"{account}.role.yaml"] = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta(account),
                                       "rules": granted}
        out[f"{account}.rolebinding.yaml"] = {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta(account),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": account},
            "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}]}
    return out


# --- what the VAN's Argo add-on renders for the pipelines of its hub ------------------------------------------------


def pipelines_applicationset(van: VanSpec) -> dict:
    """On the hub: one Application per app pipeline folder ``pipelines/<van>/<app>/`` (each names its namespace)."""
    return hub_folders_applicationset(van, slug="argo-workflows", part="pipelines", root=PIPELINES_ROOT, kind="ci",
                                      prune=True)
