from django.urls import path

from portal.views import pages

app_name = "portal"

urlpatterns = [
    path("", pages.HomeView.as_view(), name="home"),
    path("teams/", pages.TeamListView.as_view(), name="team_list"),
    path("teams/add/", pages.TeamEditView.as_view(), name="team_add"),
    path("teams/<slug:slug>/", pages.TeamDetailView.as_view(), name="team"),
    path("teams/<slug:slug>/edit/", pages.TeamEditView.as_view(), name="team_edit"),
    path("teams/<slug:slug>/members/", pages.TeamMemberView.as_view(), name="team_members"),
    path("audit/", pages.AuditEventListView.as_view(), name="auditevent_list"),
    path("switch-team/", pages.switch_team, name="switch_team"),
    path("profile/", pages.ProfileView.as_view(), name="profile"),
]
