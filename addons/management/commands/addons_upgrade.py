"""Show, then propose, what a new Wayline release's add-on definitions change in each VAN (pinned chart versions,
values, dashboards). Without --propose nothing is written: the diff is printed for review first."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from addons import services
from van.models import Van


class Command(BaseCommand):
    help = ("Print, per VAN and add-on, the diff between what git holds and what this Wayline's add-on definitions "
            "render (a new release pins new versions); with --propose, propose it: one change set per add-on, approved "
            "like any change to its clusters.")

    def add_arguments(self, parser):
        parser.add_argument("--van", action="append", default=[], help="Only this VAN (repeatable); default: every VAN.")
        parser.add_argument("--propose", action="store_true", help="Propose the changes shown (authored by Wayline).")

    def handle(self, *args, van, propose, **options):
        vans = Van.objects.order_by("name")
        if van:
            vans = vans.filter(name__in=van)
            missing = sorted(set(van) - set(vans.values_list("name", flat=True)))
            if missing:
                raise CommandError(f"--van: no VAN {', '.join(missing)}")
        changed = 0
        for obj in vans:
            for item in services.addons_upgrade_preview(van=obj):
                if item["problem"]:
                    self.stdout.write(f"VAN {obj.name}, add-on {item['slug']}: left as it is: {item['problem']}")
                    continue
                changed += 1
                self.stdout.write(f"VAN {obj.name}, add-on {item['slug']}: {len(item['paths'])} file(s) change")
                self.stdout.write(item["diff"])
            if propose:
                for changeset in services.addons_upgrade(actor=None, van=obj):
                    self.stdout.write(f"VAN {obj.name}: proposed change set {changeset.pk} ({changeset.get_status_display()})")
        if not changed:
            self.stdout.write("Every VAN's add-ons already match this Wayline's definitions.")
        elif not propose:
            self.stdout.write("Nothing was written; run again with --propose to propose these changes.")
