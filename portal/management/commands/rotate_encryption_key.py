"""``manage.py rotate_encryption_key [--check]``: move every stored credential to the first configured key.

Put the new key first and the old ones after it (WAYLINE_ENCRYPTION_KEY or
WAYLINE_ENCRYPTION_KEY_FILE), restart the web and worker processes, run this, and
drop the old keys once ``--check`` reports none left under them.
"""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from portal import crypto


class Command(BaseCommand):
    help = "Re-encrypt every stored credential under the first configured encryption key; old keys decrypt meanwhile."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Count the values still under an old key; change nothing.")
        parser.add_argument("--batch-size", type=int, default=500, help="Rows read per query (default 500).")
        parser.add_argument(
            "--print-derived-key", action="store_true",
            help="Print the key derived from SECRET_KEY (used while no key was configured), to list as an old key.",
        )

    def handle(self, *, check: bool, batch_size: int, print_derived_key: bool, verbosity: int, **options):
        if print_derived_key:
            self.stdout.write(crypto.derived_key())
            return
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        if not crypto.configured_keys():
            self.stderr.write(f"No key configured ({crypto.KEY_ENV} or {crypto.KEY_FILE_ENV}): using the key derived from SECRET_KEY.")
        if check:
            columns = crypto.encrypted_values_count(batch_size=batch_size)
            for column in columns:
                self.stdout.write(f"{column.label}: {column.current} current, {column.old} under an old key, {column.unreadable} unreadable")
            left = sum(column.old + column.unreadable for column in columns)
            if left:
                raise CommandError(f"{left} values are not under the first key")
            return

        def progress(column: crypto.EncryptedColumn) -> None:
            if verbosity >= 2:
                self.stdout.write(f"  {column.label}: {column.rotated} rotated so far")

        columns = crypto.encrypted_values_rotate(batch_size=batch_size, on_batch=progress)
        for column in columns:
            self.stdout.write(f"{column.label}: {column.rotated} rotated, {column.current} already current, {column.unreadable} unreadable")
        unreadable = sum(column.unreadable for column in columns)
        if unreadable:
            raise CommandError(f"{unreadable} values are under no configured key: add the key they were encrypted with and run again")
