"""A Component whose catalog YAML tries to smuggle script in through its links and annotations
(shared by the link, CSP and browser tests)."""

LINKED_COMPONENT = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: linked
  description: Has links of every kind
  annotations:
    backstage.io/view-url: https://git.example.test/linked
    backstage.io/source-location: url:https://git.example.test/linked/tree/main/
    wayline.test/trap: "javascript:document.title='pwned-annotation'"
  links:
    - url: "javascript:document.title='pwned'"
      title: Runbook
    - url: "java\\tscript:document.title='pwned-tab'"
      title: Dashboard
    - url: https://docs.example.test/linked
      title: Docs
    - url: mailto:team@example.test
      title: Mail the team
spec:
  type: service
  lifecycle: production
  owner: payments
"""


def ingest_linked_entity(tmp_path):
    """Ingest ``LINKED_COMPONENT`` from a real git repository; returns the Entity."""
    from catalog import services
    from catalog.models import Entity
    from tests.catalog.conftest import GitRepo

    repo = GitRepo(tmp_path / "linked-catalog")
    repo.write({"catalog-info.yaml": LINKED_COMPONENT})
    repo.commit()
    location = services.location_register(actor=None, type="git", target=repo.url, refresh=False)
    report = services.location_refresh(actor=None, location_id=location.pk)
    assert report.errors == 0, report.error_list
    return Entity.objects.get(ref="component:default/linked")

