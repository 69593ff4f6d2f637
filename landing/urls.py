"""Public URLs of hosted forms (/f/) and landing pages (/p/), and the landing API."""

from django.urls import path

from landing import form_views, page_views

app_name = "landing"

urlpatterns = [
    path("f/<slug:slug>/", form_views.form_page, name="form"),
    path("f/<slug:slug>/embed.js", form_views.embed_script, name="form-embed"),
    path("f/<slug:slug>/confirm/<str:token>/", form_views.confirm, name="form-confirm"),
    path("d/<str:token>/", form_views.download, name="download"),
    path("p/<slug:slug>/", page_views.page, name="page"),
    path("p/<slug:slug>/preview/", page_views.preview, name="page-preview"),
]
