from django.utils.functional import SimpleLazyObject

ACTIVE_TEAM_SESSION_KEY = "wayline_active_team"


def _my_teams(request) -> list:
    from portal.selectors import teams_of_user

    return list(teams_of_user(user=request.user))


def _active_team(request):
    wanted = request.session.get(ACTIVE_TEAM_SESSION_KEY)
    teams = request.my_teams
    for team in teams:
        if team.slug == wanted:
            return team
    return teams[0] if teams else None


class ActiveTeamMiddleware:
    """Sets ``request.my_teams`` (the user's teams, read once per request, when first used) and
    ``request.active_team``: the team chosen in the team switcher (default: the user's first team)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.my_teams = SimpleLazyObject(lambda: _my_teams(request))
        request.active_team = SimpleLazyObject(lambda: _active_team(request))
        return self.get_response(request)


class HealthCheckMiddleware:
    """Answers ``/healthz`` before host validation and HTTPS redirects: probes hit the pod IP over HTTP."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == "/healthz":
            from portal.views.pages import healthz

            return healthz(request)
        return self.get_response(request)
