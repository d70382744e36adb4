"""The golden CI pipeline: Argo Events and Argo Workflows objects that end a build in a Wayline change set.

One pipeline per app, on one VAN's hub, in the Argo add-on's namespace:

- an ``EventSource`` (a webhook, ``Authorization: Bearer`` with a secret Wayline generated) that the app's git
  server calls on push;
- a ``Sensor`` that takes pushes to the app's branch naming a full commit SHA and submits a ``Workflow`` from
- a ``WorkflowTemplate``: test (the app's test command in its test image, on the commit), build (kaniko, pushing
  ``<image>:<sha>``), scan (Trivy, failing on critical findings) and propose: a short Python script that asks
  Wayline's API, with a token scoped to this app's version bumps, to set the app's version to the commit. Wayline
  then proposes the change set per VAN, approved like a click would be.

The VAN's Argo add-on renders what every pipeline of the hub shares: the ``EventBus``, a service account allowed
to submit and run workflows, and the ApplicationSet syncing ``pipelines/<van>/*`` to the hub.
"""
from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from addons.rendering import LABEL_ADDON, _applicationset, _automated, _folders, _repo
from van.rendering.spec import LABEL_APP, LABEL_MANAGED_BY, LABEL_VAN, VanSpec

PIPELINES_ROOT = "pipelines"
SERVICE_ACCOUNT = "wayline-ci"
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
    """``ci-<app>``, shortened with a digest where the Service Argo Events derives from it would pass 63."""
    name = f"ci-{app}"
    if len(name) <= 40:
        return name
    return f"ci-{app[:28].rstrip('-')}-{hashlib.sha256(app.encode()).hexdigest()[:8]}"


def token_secret_name(app: str) -> str:
    return f"{pipeline_name(app)}-wayline"


def webhook_secret_name(app: str) -> str:
    return f"{pipeline_name(app)}-webhook"


def registry_secret_name(app: str) -> str:
    """The registry credentials kaniko pushes with (a ``.dockerconfigjson``): the app's team seals it on the hub."""
    return f"{pipeline_name(app)}-registry"


def build_context(repo_url: str, branch: str) -> str:
    """kaniko's git context for ``repo_url`` at the pushed commit: ``git://host/path#refs/heads/<branch>#<sha>``."""
    parts = urlsplit(repo_url)
    return f"git://{parts.netloc}{parts.path}#refs/heads/{branch}#{{{{workflow.parameters.revision}}}}"


def pipeline_objects(*, van: str, app: str, app_id: int, namespace: str, repo_url: str, branch: str, image: str,
                     test_image: str, test_command: str, wayline_url: str) -> dict[str, dict]:
    """The pipeline's EventSource, Sensor and WorkflowTemplate, by file name (its Secrets are sealed apart)."""
    name = pipeline_name(app)
    labels = {LABEL_VAN: van, LABEL_APP: app, LABEL_ADDON: "argo-workflows", LABEL_MANAGED_BY: "wayline"}
    meta = {"name": name, "namespace": namespace, "labels": labels}
    revision = "{{workflow.parameters.revision}}"
    event_source = {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "EventSource", "metadata": meta,
        "spec": {
            "template": {"serviceAccountName": SERVICE_ACCOUNT},
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
            "template": {"serviceAccountName": SERVICE_ACCOUNT},
            "dependencies": [{
                "name": "push", "eventSourceName": name, "eventName": "push",
                # GitHub, GitLab and Gitea push bodies: the branch pushed and the commit it now points at
                "filters": {"data": [
                    {"path": "body.ref", "type": "string", "value": [f"refs/heads/{branch}"]},
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
            "serviceAccountName": SERVICE_ACCOUNT,
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
    return {"eventsource.yaml": event_source, "sensor.yaml": sensor, "workflowtemplate.yaml": template}


# --- what the VAN's Argo add-on renders for every pipeline of its hub ----------------------------------------------


def ci_hub_objects(*, van: str, namespace: str) -> dict[str, dict]:
    """The EventBus the EventSources and Sensors share, and the service account they and the workflows run as:
    allowed to submit workflows from the namespace's templates and to report their steps, nothing else."""
    labels = {LABEL_VAN: van, LABEL_ADDON: "argo-workflows", LABEL_MANAGED_BY: "wayline"}
    meta = lambda name: {"name": name, "namespace": namespace, "labels": labels}  # noqa: E731
    return {
        "eventbus.yaml": {"apiVersion": "argoproj.io/v1alpha1", "kind": "EventBus", "metadata": meta("default"),
                          "spec": {"jetstream": {"version": "latest"}}},
        "serviceaccount.yaml": {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(SERVICE_ACCOUNT)},
        "role.yaml": {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta(SERVICE_ACCOUNT),
                      "rules": [
                          {"apiGroups": ["argoproj.io"], "resources": ["workflows"], "verbs": ["create", "get", "list", "watch"]},
                          {"apiGroups": ["argoproj.io"], "resources": ["workflowtemplates"], "verbs": ["get", "list", "watch"]},
                          {"apiGroups": ["argoproj.io"], "resources": ["workflowtaskresults"], "verbs": ["create", "patch"]},
                      ]},
        "rolebinding.yaml": {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta(SERVICE_ACCOUNT),
                             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": SERVICE_ACCOUNT},
                             "subjects": [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": namespace}]},
    }


def pipelines_applicationset(van: VanSpec, *, namespace: str) -> dict:
    """On the hub: one Application per app pipeline folder ``pipelines/<van>/<app>/``, into the Argo namespace."""
    app = "{{.path.basename}}"
    return _applicationset(
        van, name=f"addon.{van.name}.argo-workflows.pipelines",
        labels={LABEL_VAN: van.name, LABEL_ADDON: "argo-workflows", LABEL_MANAGED_BY: "wayline"},
        generator=_folders(van, f"{PIPELINES_ROOT}/{van.name}/*"), app_name=f"{van.name}.ci.{app}",
        app_labels={LABEL_VAN: van.name, LABEL_ADDON: "argo-workflows"}, source=_repo(van, "{{.path.path}}"),
        destination={"server": "https://kubernetes.default.svc", "namespace": namespace}, sync_policy=_automated(True))
