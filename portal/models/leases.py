"""Leases: one holder at a time for a named piece of work, across processes and machines.

A holder takes a free or expired lease and renews it well before it expires; if the holder dies, the
lease runs out and another takes it over. Taking and renewing are one conditional UPDATE each, so two
contenders never both win, on SQLite and PostgreSQL alike.
"""
from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils import timezone


class Lease(models.Model):
    name = models.CharField(max_length=200, unique=True)
    holder = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField(db_index=True)
    acquired_at = models.DateTimeField(null=True, blank=True)
    renewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.holder or 'free'})"

    @classmethod
    def acquire(cls, name: str, holder: str, seconds: float) -> bool:
        """Take (or renew) the lease ``name`` for ``holder`` for ``seconds``; False while another holds it."""
        now = timezone.now()
        expires = now + timedelta(seconds=seconds)
        renewed = cls.objects.filter(name=name, holder=holder).update(expires_at=expires, renewed_at=now)
        if renewed:
            return True
        taken = cls.objects.filter(Q(holder="") | Q(expires_at__lt=now), name=name).update(
            holder=holder, expires_at=expires, acquired_at=now, renewed_at=now)
        if taken:
            return True
        if cls.objects.filter(name=name).exists():
            return False
        try:
            with transaction.atomic():
                cls.objects.create(name=name, holder=holder, expires_at=expires, acquired_at=now, renewed_at=now)
        except IntegrityError:  # another contender created it first
            return False
        return True

    @classmethod
    def release(cls, name: str, holder: str) -> None:
        """Give the lease up at once (a clean stop), if ``holder`` still has it."""
        cls.objects.filter(name=name, holder=holder).update(holder="", expires_at=timezone.now())

    @classmethod
    def holder_of(cls, name: str) -> str:
        """Who holds ``name`` now ("" when free or expired)."""
        lease = cls.objects.filter(name=name, expires_at__gte=timezone.now()).exclude(holder="").first()
        return lease.holder if lease else ""
