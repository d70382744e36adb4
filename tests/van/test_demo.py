import pytest


@pytest.mark.django_db(transaction=True)
def test_demo_seed_builds_a_populated_van_and_commits_it(world, settings, tmp_path):
    import subprocess

    from portal.gitops.services import environments_ensure
    from van import demo
    from van.models import Van
    from van.selectors import van_placement

    environments_ensure([("dev", "Dev", False), ("qa", "QA", False), ("staging", "Staging", False), ("prod", "Prod", True)])
    settings.WAYLINE_GITOPS_URL = str(tmp_path / "gitops.git")
    demo.seed(actor=world.admin)
    demo.seed(actor=world.admin)  # idempotent
    van = Van.objects.get(name="demo")
    assert van.clusters.filter(role="edge").count() == 3
    spec, placement = van_placement(van=van)
    assert {c.environment for c in spec.clusters} == {"dev", "prod"}
    assert placement.clusters_of("checkout-service") and placement.clusters_of("splunk-forwarder")
    files = subprocess.run(["git", "ls-tree", "-r", "--name-only", "main"], cwd=tmp_path / "gitops.git", capture_output=True, text=True).stdout
    assert "vans/demo/hub/clusters/dev-eu.yaml" in files
    assert "PRIVATE KEY" not in subprocess.run(["git", "log", "-p", "--all"], cwd=tmp_path / "gitops.git", capture_output=True, text=True).stdout
