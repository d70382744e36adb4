from django.urls import NoReverseMatch, reverse

from portal.navigation import NAVIGATION


def navigation(request):
    """Navigation items and the team switcher's choices for the base template."""
    items = []
    path = request.path
    for item in NAVIGATION:
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        items.append({"label": item.label, "url": url, "current": path.startswith(url)})
    context = {"nav_items": items}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        from portal.selectors import teams_of_user

        # The list ActiveTeamMiddleware read for the active team, when it ran: one query for both.
        context["my_teams"] = request.my_teams if hasattr(request, "my_teams") else teams_of_user(user=user)
        context["active_team"] = getattr(request, "active_team", None)
    return context
