import pytest
from django.contrib.auth.models import AnonymousUser, Permission

from portal import services
from portal.models import MembershipRole, Team
from tests.factories import make_cluster, make_user
from van.models import Cluster


@pytest.mark.django_db
class TestRestrict:
    def test_superuser_sees_and_changes_everything(self, world):
        private = make_cluster(world.search, visibility="private")
        assert private in Cluster.objects.restrict(world.admin, "view")
        assert private in Cluster.objects.restrict(world.admin, "change")

    def test_anonymous_and_inactive_users_get_nothing(self, world):
        make_cluster(world.search, visibility="public")
        assert not Cluster.objects.restrict(AnonymousUser(), "view").exists()
        world.alice.is_active = False
        assert not Cluster.objects.restrict(world.alice, "view").exists()

    def test_member_sees_own_private_and_all_public_but_not_other_private(self, world):
        own = make_cluster(world.payments, visibility="private")
        other_public = make_cluster(world.search, visibility="public")
        other_private = make_cluster(world.search, visibility="private")
        visible = set(Cluster.objects.restrict(world.alice, "view"))
        assert visible == {own, other_public}
        assert set(Cluster.objects.restrict(world.alice, "change")) == {own}
        assert other_private not in visible

    def test_team_viewer_role_reads_private_but_cannot_change(self, world):
        own = make_cluster(world.payments, visibility="private")
        services.team_membership_set(actor=world.admin, team=world.payments, user=world.victor, role=MembershipRole.VIEWER)
        assert own in Cluster.objects.restrict(world.victor, "view")
        assert not Cluster.objects.restrict(world.victor, "change").exists()

    def test_removed_member_loses_access(self, world):
        own = make_cluster(world.payments, visibility="private")
        services.team_membership_remove(actor=world.admin, team=world.payments, user=world.alice)
        world.alice = type(world.alice).objects.get(pk=world.alice.pk)  # drop cached permissions
        assert own not in Cluster.objects.restrict(world.alice, "view")

    def test_global_permission_is_accepted(self, world):
        private = make_cluster(world.payments, visibility="private")
        auditor = make_user("auditor")
        auditor.user_permissions.add(Permission.objects.get(codename="view_cluster"))
        auditor = type(auditor).objects.get(pk=auditor.pk)
        assert private in Cluster.objects.restrict(auditor, "view")
        assert not Cluster.objects.restrict(auditor, "change").exists()

    def test_owner_change_moves_permissions(self, world):
        from van.services import cluster_update

        cluster = make_cluster(world.payments, visibility="private")
        cluster_update(actor=world.admin, obj=cluster, owner_team=world.search)
        alice = type(world.alice).objects.get(pk=world.alice.pk)
        bob = type(world.bob).objects.get(pk=world.bob.pk)
        assert cluster not in Cluster.objects.restrict(alice, "view")
        assert cluster in Cluster.objects.restrict(bob, "change")

    def test_unknown_action_is_an_error(self, world):
        with pytest.raises(ValueError):
            Cluster.objects.restrict(world.alice, "launch")

    def test_team_admin_may_change_team_plain_member_may_not(self, world):
        assert world.payments in Team.objects.restrict(world.carol, "change")
        assert world.payments not in Team.objects.restrict(world.alice, "change")
        assert set(Team.objects.restrict(world.victor, "view")) == {world.payments, world.search}


@pytest.mark.django_db
def test_services_write_audit_rows(world):
    from portal.models import AuditEvent

    cluster = make_cluster(world.payments, actor=world.alice)
    event = AuditEvent.objects.get(action="cluster.create", object_id=str(cluster.pk))
    assert event.actor == world.alice and event.team == world.payments
    assert AuditEvent.objects.filter(action="team.member_add", team=world.payments).count() == 2


@pytest.mark.django_db
def test_audit_rows_are_visible_to_own_team_only(world):
    from portal.models import AuditEvent

    make_cluster(world.search, actor=world.bob)
    assert not AuditEvent.objects.restrict(world.alice).filter(team=world.search).exists()
    assert AuditEvent.objects.restrict(world.bob).filter(team=world.search).exists()
    assert AuditEvent.objects.restrict(world.admin).filter(team=world.search).exists()
