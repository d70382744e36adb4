from django.urls import path

from addons import views

app_name = "addons"

urlpatterns = [path("addons/", views.AddOnListView.as_view(), name="addon_list")]
