from django.utils.functional import SimpleLazyObject

from portal.api.parsers import loads

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


class NulCharacterMiddleware:
    """Refuses (400) a request whose path, parameters or JSON body hold a NUL character, naming where.

    No text the portal stores or filters on may hold one, and PostgreSQL refuses
    it in any text value: left through, it would be a server error on whatever
    query first used it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        where = _nul_in_request(request)
        if where:
            return _bad_request(request, f"NUL characters are not allowed ({where}).")
        return self.get_response(request)


def _nul_in_request(request) -> str | None:
    if "\x00" in request.path:
        return "in the URL path"
    for source, params in (("query parameter", request.GET), ("form field", _form_data(request))):
        for key, values in params.lists():
            if "\x00" in key or any("\x00" in value for value in values if isinstance(value, str)):
                return f"{source} {key.replace(chr(0), '')!r}"
    if request.content_type == "application/json" and (b"\\u0000" in request.body or b"\x00" in request.body):
        try:
            data = loads(request.body)
        except ValueError:
            return "in the JSON body"  # and not even JSON (or nested too deeply to walk)
        path = _nul_path(data, "")
        if path is not None:
            return f"JSON field {path or '(top level)'!r}"
    return None


def _form_data(request):
    from django.http import QueryDict
    from django.http.multipartparser import MultiPartParserError

    if request.method in ("POST", "PUT", "PATCH") and request.content_type in (
        "application/x-www-form-urlencoded", "multipart/form-data"
    ):
        try:
            return request.POST
        except MultiPartParserError:
            return QueryDict()  # a malformed body is the view's (or DRF's parser's) to refuse
    return QueryDict()


def _nul_path(value, path: str) -> str | None:
    """The dotted path of the first string (or key) holding a NUL in JSON data; None if there is none."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if "\x00" in key:
                return child.replace("\x00", "")
            found = _nul_path(item, child)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_path(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def _bad_request(request, message: str):
    from django.http import HttpResponseBadRequest, JsonResponse

    if request.path.startswith("/api/catalog/"):  # Backstage's error shape, as the rest of that API answers
        return JsonResponse({"error": {"name": "InputError", "message": message}, "response": {"statusCode": 400}},
                            status=400)
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=400)
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
