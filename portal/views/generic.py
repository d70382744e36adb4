"""Generic page views. Each takes its queryset from a selector built on ``restrict``.

One view, two renders: a full page, or for an htmx request only the partial that
the request swaps (the table, for list filters, sorting and pagination).
"""
from __future__ import annotations

import csv
import re
from typing import Any, Callable

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import models
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views import View

from portal.forms import apply_validation_error

Selector = Callable[..., models.QuerySet]

MAX_PAGE = 10 ** 9  # far beyond any real list, and small enough that no offset computed from it overflows 64 bits
MAX_PAGE_SIZE = 500  # as the API's ``page_size``


def _positive_int(request, name: str) -> int | None:
    """The query parameter ``name`` as a positive integer of plain digits, at most ``MAX_PAGE``; None when it is not one."""
    value = request.GET.get(name, "").strip()
    if not re.fullmatch(r"[0-9]+", value):
        return None
    number = int(value) if len(value) <= 18 else MAX_PAGE  # int() refuses 4,300 digits and more
    return min(number, MAX_PAGE) if number >= 1 else None


def page_number(request, name: str = "page") -> int:
    """The page a list asks for: 1 for no page, ``abc``, ``-1`` or ``1e9``. The list clamps it to its last page."""
    return _positive_int(request, name) or 1


def page_size(request, name: str, default: int) -> int:
    """Rows per page: ``default`` unless the request asks for a positive number, which is capped at ``MAX_PAGE_SIZE``."""
    return min(_positive_int(request, name) or default, MAX_PAGE_SIZE)


def configure_table(table, request, *, per_page: int | None) -> None:
    """Sort and page (unless ``per_page`` is None: an export) a django-tables2 table from the request, every value checked.

    A sort key that is not an orderable column is ignored (the table's own rule); a page past the end shows the
    last page and anything that is not a page number the first, as on the catalog's own list.
    """
    table.request = request
    order_by = request.GET.getlist(table.prefixed_order_by_field)
    if order_by:
        table.order_by = order_by
    if per_page is not None:
        table.paginator = Paginator(table.rows, page_size(request, table.prefixed_per_page_field, per_page))
        table.page = table.paginator.get_page(page_number(request, table.prefixed_page_field))


def get_restricted_object_or_404(queryset: models.QuerySet, **lookup: Any) -> models.Model:
    """Fetch from an already restricted queryset: invisible and missing look the same (404)."""
    try:
        return queryset.get(**lookup)
    except queryset.model.DoesNotExist:
        raise Http404(f"No {queryset.model._meta.verbose_name} matches the given query.") from None


def get_permitted_object_or_404(queryset: models.QuerySet, user, action: str, **lookup: Any) -> models.Model:
    """The one check of every write on one object, for pages and the API alike.

    ``queryset`` is what the user may see (a selector), so an invisible object is a
    404 exactly like a missing one; a visible object the user may not ``action``
    (change, delete, approve, retry, adopt, ...) is a 403.
    """
    obj = get_restricted_object_or_404(queryset, **lookup)
    if action != "view" and not queryset.model.objects.permits(user, action, obj):
        raise PermissionDenied(f"You may not {action} this {queryset.model._meta.verbose_name}.")
    return obj


class ObjectActionView(LoginRequiredMixin, View):
    """A POST-only action on one object (approve, retry, adopt, sync, ...).

    The object comes from ``selector`` and the user must hold ``action`` on it
    (``get_permitted_object_or_404``); ``perform(request, obj)`` parses the input,
    calls one service and answers. A ``ValidationError`` becomes error messages
    and a redirect back to the object (303).
    """

    selector: Selector
    action: str = ""
    lookup_kwargs: tuple[str, ...] = ("pk",)

    def post(self, request, **kwargs):
        lookup = {key: kwargs[key] for key in self.lookup_kwargs}
        obj = get_permitted_object_or_404(type(self).selector(user=request.user), request.user, self.action, **lookup)
        try:
            return self.perform(request, obj)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
            response = redirect(obj.get_absolute_url())
            response.status_code = 303
            return response

    def perform(self, request, obj):
        raise NotImplementedError


class ObjectListView(LoginRequiredMixin, View):
    selector: Selector
    filterset_class = None
    table_class = None
    template_name = "portal/object_list.html"
    partial_template_name = "portal/inc/object_table.html"
    title = ""
    per_page = 25
    create_url_name: str | None = None
    export_filename = "export.csv"

    def get_queryset(self) -> models.QuerySet:
        return type(self).selector(user=self.request.user)

    def get_extra_context(self) -> dict:
        return {}

    def get(self, request):
        queryset = self.get_queryset()
        filterset = self.filterset_class(request.GET or None, queryset=queryset, request=request) if self.filterset_class else None
        if filterset is not None and filterset.is_bound and not filterset.is_valid():
            object_list = queryset.none()
        else:
            object_list = filterset.qs if filterset is not None else queryset
        table = self.table_class(object_list)  # not request=: that would sort and page it unchecked
        export = request.GET.get("export") == "csv"
        configure_table(table, request, per_page=None if export else self.per_page)
        if export:
            return self.export_csv(table)
        context = {
            "title": self.title or queryset.model._meta.verbose_name_plural.capitalize(),
            "table": table,
            "filterset": filterset,
            "model_opts": queryset.model._meta,
            "create_url_name": self.create_url_name,
            # The "Add" button: shown by the check that guards the create view (ObjectEditView.check_create_allowed).
            "can_create": bool(self.create_url_name) and queryset.model.creatable_by(request.user),
            **self.get_extra_context(),
        }
        template = self.partial_template_name if request.htmx and not request.htmx.boosted else self.template_name
        return render(request, template, context)

    def export_csv(self, table) -> HttpResponse:
        response = HttpResponse(content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="{self.export_filename}"'
        writer = csv.writer(response)
        for row in table.as_values():
            writer.writerow(row)
        return response


class ObjectDetailView(LoginRequiredMixin, View):
    selector: Selector
    template_name: str
    lookup_kwargs: tuple[str, ...] = ("pk",)

    def get_object(self) -> models.Model:
        lookup = {key: self.kwargs[key] for key in self.lookup_kwargs}
        return get_restricted_object_or_404(type(self).selector(user=self.request.user), **lookup)

    def get_extra_context(self, obj) -> dict:
        return {}

    def get(self, request, **kwargs):
        obj = self.get_object()
        context = {"object": obj, "model_opts": obj._meta, **self.get_extra_context(obj)}
        response = render(request, self.template_name, context)
        if context.get("frame_origins"):  # embedded dashboards: the CSP lets exactly their origins be framed
            response._csp_update = {"frame-src": sorted(context["frame_origins"])}
        return response


class ObjectEditView(LoginRequiredMixin, View):
    """Create (no lookup kwargs in the URL) or edit an object through a service.

    ``create_service(actor=..., **cleaned_data)`` and
    ``update_service(actor=..., obj, **cleaned_data)`` do the work; a
    ``ValidationError`` they raise lands on the form's fields.
    """

    model: type[models.Model]
    form_class = None
    template_name = "portal/object_edit.html"
    create_service: Callable | None = None
    update_service: Callable | None = None
    lookup_kwargs: tuple[str, ...] = ("pk",)

    def get_object(self):
        if not all(key in self.kwargs for key in self.lookup_kwargs):
            return None
        lookup = {key: self.kwargs[key] for key in self.lookup_kwargs}
        user = self.request.user
        return get_permitted_object_or_404(self.model.objects.restrict(user, "view"), user, "change", **lookup)

    def check_create_allowed(self) -> None:
        if not self.model.creatable_by(self.request.user):
            raise PermissionDenied(f"You may not create a {self.model._meta.verbose_name}.")

    def get_form(self, obj, data=None):
        return self.form_class(data=data, instance=obj, user=self.request.user, active_team=self.request.active_team)

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.object = self.get_object()
        if self.object is None:
            self.check_create_allowed()
        return super().dispatch(request, *args, **kwargs)

    def render_form(self, form, status=200):
        context = {"form": form, "object": self.object, "model_opts": self.model._meta} | self.get_form_context()
        return render(self.request, self.template_name, context, status=status)

    def get_form_context(self) -> dict:
        """More context for the form page (``self.object`` is set: None when adding)."""
        return {}

    def get(self, request, **kwargs):
        return self.render_form(self.get_form(self.object))

    def post(self, request, **kwargs):
        form = self.get_form(self.object, data=request.POST)
        if form.is_valid():
            try:
                if self.object is None:
                    obj = type(self).create_service(actor=request.user, **form.cleaned_data)
                    messages.success(request, f"Created {obj}.")
                else:
                    obj = type(self).update_service(actor=request.user, obj=self.object, **form.cleaned_data)
                    messages.success(request, f"Saved {obj}.")
                return redirect(obj.get_absolute_url())
            except ValidationError as exc:
                apply_validation_error(form, exc)
        return self.render_form(form, status=400)
