"""The workspace under /sales/, its login under /accounts/, and the API's opportunities under /api/v1/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from sales import api, views

app_name = "sales"

urlpatterns = [
    path("", views.hot_leads, name="hot_leads"),
    path("export.csv", views.export_csv, name="export"),
    path("leads/<int:pk>/", views.lead, name="lead"),
    path("leads/<int:pk>/claim/", views.claim, name="claim"),
    path("leads/<int:pk>/reassign/", views.reassign, name="reassign"),
    path("leads/<int:pk>/notes/", views.add_note, name="add_note"),
    path("leads/<int:pk>/hand-back/", views.hand_back, name="hand_back"),
    path("leads/<int:pk>/convert/", views.convert, name="convert"),
    path("opportunities/", views.opportunity_list, name="opportunities"),
    path("opportunities/<int:pk>/", views.opportunity, name="opportunity"),
    path("opportunities/<int:pk>/stage/", views.opportunity_stage, name="opportunity_stage"),
]

account_urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
]

router = SimpleRouter()
router.register("opportunities", api.OpportunityViewSet, basename="opportunity")
api_urlpatterns = router.urls
