"""Ages as people say them: "just now", "3 minutes ago"."""
from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

register = template.Library()


@register.filter
def ago(value: dt.datetime | None) -> str:
    """How long ago ``value`` was: "just now" under a minute (timesince would say "0 minutes"), "" for none."""
    if not value:
        return ""
    if timezone.now() - value < dt.timedelta(minutes=1):
        return "just now"
    return f"{timesince(value)} ago"
