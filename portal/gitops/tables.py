import django_tables2 as tables
from django.utils.html import format_html

from portal.gitops.models import ChangeSet, Environment, GitOpsRepo
from portal.gitops.templatetags.gitops_tags import status_class
from portal.tables import PortalTable


class GitOpsRepoTable(PortalTable):
    name = tables.Column(linkify=True)
    url = tables.Column(verbose_name="URL")
    branch = tables.Column()
    pending_count = tables.Column(verbose_name="Pending")
    drift_count = tables.Column(verbose_name="Edited outside")

    class Meta(PortalTable.Meta):
        model = GitOpsRepo
        fields = ("name", "url", "branch", "pending_count", "drift_count")


class ChangeSetTable(PortalTable):
    id = tables.Column(verbose_name="#", linkify=True)
    message = tables.Column(linkify=True, verbose_name="Change")
    status = tables.Column()
    environment = tables.Column()
    author_name = tables.Column(verbose_name="Author")
    repo = tables.Column()
    commit_sha = tables.Column(verbose_name="Commit")
    created = tables.DateTimeColumn(format="Y-m-d H:i:s")

    class Meta(PortalTable.Meta):
        model = ChangeSet
        fields = ("id", "message", "status", "environment", "author_name", "repo", "commit_sha", "created")

    def render_message(self, value):
        return value.splitlines()[0][:100]

    def render_status(self, record):
        return format_html('<span class="badge {}">{}</span>', status_class(record.status), record.get_status_display())

    def render_commit_sha(self, value):
        return format_html("<code>{}</code>", value[:10])


class EnvironmentTable(PortalTable):
    name = tables.Column()
    slug = tables.Column()
    requires_approval = tables.BooleanColumn(verbose_name="Requires approval")
    approver_team = tables.Column(verbose_name="Approver team")

    class Meta(PortalTable.Meta):
        model = Environment
        fields = ("name", "slug", "requires_approval", "approver_team")
