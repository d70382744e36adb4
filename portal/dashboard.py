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
