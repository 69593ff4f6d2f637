from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from campaigns import api_urls as campaigns_api
from campaigns import urls as campaigns_urls
from leads import urls as leads_urls
from mautomation import views
from sales import urls as sales_urls
from scoring import urls as scoring_urls

api_v1 = [
    path("me/", views.me, name="me"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("", include(leads_urls.api_urlpatterns)),
    path("", include(scoring_urls.api_urlpatterns)),
    path("", include("landing.api")),
    path("", include(sales_urls.api_urlpatterns)),
    path("", include("campaigns.automation_urls")),
    path("reports/", include("reports.api")),
    path("", include(campaigns_api.api_urlpatterns)),
]

urlpatterns = [
    # The public endpoints with the most traffic first: Django tries the patterns in order on every request.
    path("e/", include("campaigns.urls")),
    path("", include("landing.urls")),
    path("t/", include((leads_urls.urlpatterns, "tracking"), namespace="tracking")),
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/leads/import/", include("leads.import_views")),  # before the admin, which would claim it
    path("admin/reports/", include("reports.urls")),
    path("admin/", admin.site.urls),
    path("accounts/", include(sales_urls.account_urlpatterns)),
    path("sales/", include("sales.urls")),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("anymail/", include((campaigns_urls.webhook_urlpatterns, "anymail"), namespace="anymail")),
]
