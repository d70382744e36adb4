from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import render
from django.views import View

from addons.registry import ADDONS


class AddOnListView(LoginRequiredMixin, View):
    def get(self, request):
        return render(request, "addons/addon_list.html", {"addons": ADDONS})
