"""Two lists: the API's, included under /api/v1/, and the public tracking endpoints, under /t/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from leads import api, views

router = SimpleRouter()
router.register("leads", api.LeadViewSet, basename="lead")

api_urlpatterns = [
    *router.urls,
    path("events/", api.EventView.as_view(), name="event-list"),
]

urlpatterns = [
    path("pv", views.page_view, name="page-view"),
    path("pv.gif", views.page_view_pixel, name="page-view-pixel"),
]
