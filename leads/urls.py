"""Two lists: the API's, included under /api/v1/, and the public tracking endpoints, under /t/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from leads import api, segment_api, views

router = SimpleRouter()
router.register("leads", api.LeadViewSet, basename="lead")
router.register("segments", segment_api.SegmentViewSet, basename="segment")
router.register("lists", segment_api.LeadListViewSet, basename="list")

api_urlpatterns = [
    *router.urls,
    path("events/", api.EventView.as_view(), name="event-list"),
]

urlpatterns = [
    path("pv", views.page_view, name="page-view"),
    path("pv.gif", views.page_view_pixel, name="page-view-pixel"),
]
