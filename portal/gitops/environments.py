"""The portal's environments, defined once.

Everything that names environments takes them from here: the Environment rows
the first migration and ``environments_ensure`` create, the choices of a
cluster's and a rule's environment, and the renderer's order. Which of them
needs approval, and who approves, is the Environment row's (Django admin), read
at the moment a change is proposed.
"""
from __future__ import annotations

# (slug, name, requires approval by default), least to most protected.
DEFAULTS: tuple[tuple[str, str, bool], ...] = (
    ("dev", "Dev", False),
    ("qa", "QA", False),
    ("staging", "Staging", False),
    ("prod", "Prod", True),
)
SLUGS: tuple[str, ...] = tuple(slug for slug, _, _ in DEFAULTS)
