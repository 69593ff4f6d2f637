"""The links in emails, under /e/ (short: they are in every message), and the ESP webhooks."""

from anymail.urls import urlpatterns as anymail_urlpatterns
from django.urls import URLPattern, path

from campaigns import views

app_name = "campaigns"
urlpatterns = [
    path("o/<str:token>", views.open_pixel, name="open"),
    path("c/<str:token>", views.click, name="click"),
    path("u/<str:token>", views.unsubscribe, name="unsubscribe"),
    path("u/<str:token>/one-click", views.one_click_unsubscribe, name="one-click-unsubscribe"),
]

# Anymail's tracking webhooks (not its inbound ones), at its usual paths and names, refused without a secret.
webhook_urlpatterns = [
    URLPattern(pattern.pattern, views.require_webhook_secret(pattern.callback), pattern.default_args, pattern.name)
    for pattern in anymail_urlpatterns
    if pattern.name and pattern.name.endswith("tracking_webhook")
]
