from rest_framework.routers import SimpleRouter

from scoring.api import ScoringRuleViewSet

router = SimpleRouter()
router.register("scoring-rules", ScoringRuleViewSet, basename="scoring-rule")
api_urlpatterns = router.urls
