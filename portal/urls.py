from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from portal.forms import LoginForm
from portal.views import api_docs, pages

api_patterns = [
    path("", include("portal.api.urls")),
    path("", include("catalog.api.urls")),
    path("", include("van.api.urls")),
    path("", include("addons.api.urls")),
    path("", include("portal.gitops.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", api_docs.SwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("redoc/", api_docs.RedocView.as_view(url_name="schema"), name="api-redoc"),
]

urlpatterns = [
    path("healthz", pages.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True, authentication_form=LoginForm),
         name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include(api_patterns)),
    path("", include("portal.urls_pages")),
    path("", include("catalog.urls")),
    path("", include("van.urls")),
    path("", include("addons.urls")),
    path("", include("portal.gitops.urls")),
]
