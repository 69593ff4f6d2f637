"""The automation's API routes, included under /api/v1/."""

from rest_framework.routers import SimpleRouter

from campaigns import automation_api

router = SimpleRouter()
router.register("sequences", automation_api.SequenceViewSet, basename="sequence")
urlpatterns = router.urls
