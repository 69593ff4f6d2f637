"""The report pages, included by mautomation/urls.py under /admin/reports/ (before the admin's catch-all)."""

from django.urls import path

from reports import views

app_name = "reports"
urlpatterns = [
    path("", views.readiness_check, name="readiness"),
    path("planner/", views.planner, name="planner"),
    path("campaigns/", views.campaign_list, name="campaigns"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign"),
    path("templates/<int:pk>/", views.template_detail, name="template"),
    path("kpis/", views.kpi_dashboard, name="kpis"),
]
