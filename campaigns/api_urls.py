from rest_framework.routers import SimpleRouter

from campaigns.api import CampaignViewSet

router = SimpleRouter()
router.register("campaigns", CampaignViewSet, basename="campaign")
api_urlpatterns = router.urls
