"""Write the files Wayline would commit for a VAN into a directory, without committing."""
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from van.models import Van


class Command(BaseCommand):
    help = "Render a VAN's ArgoCD, Sealed Secrets and Skupper manifests into DIR (exactly what a commit would write)."

    def add_arguments(self, parser):
        parser.add_argument("van", help="VAN name")
        parser.add_argument("--output", "-o", required=True, help="Directory to write into (created if missing)")

    def handle(self, *args, van, output, **options):
        from van.services import van_render_files

        try:
            obj = Van.objects.get(name=van)
        except Van.DoesNotExist:
            raise CommandError(f"no VAN named {van!r}") from None
        try:
            files = van_render_files(van=obj)
        except (ValidationError, ValueError) as exc:
            raise CommandError("; ".join(getattr(exc, "messages", [str(exc)]))) from None
        root = Path(output)
        for path, text in files.items():
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        self.stdout.write(f"wrote {len(files)} files for VAN {obj.name} under {root}")
