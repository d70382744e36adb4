import pytest


@pytest.mark.django_db
def test_demo_seed_builds_a_populated_van_and_commits_it(world, settings, tmp_path, django_capture_on_commit_callbacks):
    import subprocess

    from van import demo
    from van.models import Van
    from van.selectors import van_placement

    from portal.gitops.services import DEFAULT_ENVIRONMENTS, environments_ensure

    from portal.gitops import demo as gitops_demo

    environments_ensure(DEFAULT_ENVIRONMENTS)
    settings.WAYLINE_GITOPS_URL = str(tmp_path / "gitops.git")
    settings.WAYLINE_PUBLIC_URL = "http://127.0.0.1:8000"  # as `manage.py demo` gives its own address
    gitops_demo.seed(actor=world.admin)  # as `manage.py demo` does first: creates the GitOps repository
    with django_capture_on_commit_callbacks(execute=True):
        demo.seed(actor=world.admin)
    with django_capture_on_commit_callbacks(execute=True):
        demo.seed(actor=world.admin)  # idempotent
    van = Van.objects.get(name="demo")
    assert van.clusters.filter(role="edge").count() == 3
    spec, placement = van_placement(van=van)
    assert {c.environment for c in spec.clusters} == {"dev", "prod"}
    assert placement.clusters_of("checkout-service") and placement.clusters_of("splunk-forwarder")
    # The narrower PCI rule comes first, so it (not the regional one) places the gateway on the gold PCI cluster.
    assert placement.clusters_of("payment-gateway")["prod-eu"] == "pci-gold-only"
    lab = Van.objects.get(name="search-lab")
    assert (lab.visibility, lab.owner_team, set(lab.clusters.values_list("visibility", flat=True))) == (
        "private", world.search, {"private"})
    assert van_placement(van=lab)[1].clusters_of("ranking-experiment") == {"lab-gpu": "lab-experiments"}
    files = subprocess.run(["git", "ls-tree", "-r", "--name-only", "main"], cwd=tmp_path / "gitops.git", capture_output=True, text=True).stdout
    assert "vans/demo/hub/clusters/dev-eu.yaml" in files and "vans/search-lab/hub/clusters/lab-gpu.yaml" in files
    from addons.models import CiPipeline

    assert list(CiPipeline.objects.values_list("app__name", "van__name", "created_by__username")) == [
        ("checkout-service", "demo", "admin")]
    assert "PRIVATE KEY" not in subprocess.run(["git", "log", "-p", "--all"], cwd=tmp_path / "gitops.git", capture_output=True, text=True).stdout
