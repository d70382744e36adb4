"""Cards on the home dashboard. Apps register theirs in ``AppConfig.ready`` so portal imports no app."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from django.db.models import QuerySet


@dataclass(frozen=True)
class DashboardCard:
    title: str
    url_name: str
    queryset: Callable[..., QuerySet]  # selector taking user=; the card shows its count
    order: int = 100


_CARDS: dict[str, DashboardCard] = {}


def register_card(card: DashboardCard) -> None:
    _CARDS[card.title] = card


def cards() -> list[DashboardCard]:
    return sorted(_CARDS.values(), key=lambda card: (card.order, card.title))


@dataclass(frozen=True)
class HomePanel:
    """A section of the home page: ``context(user=..., teams=...)`` returns what ``template`` needs, or None to hide it.
    ``teams``: the reader's teams (a queryset). Each panel must cost a constant number of queries."""

    name: str
    template: str
    context: Callable[..., dict | None]
    order: int = 100


_PANELS: dict[str, HomePanel] = {}


def register_panel(panel: HomePanel) -> None:
    _PANELS[panel.name] = panel


def panels() -> list[HomePanel]:
    return sorted(_PANELS.values(), key=lambda panel: (panel.order, panel.name))
