from django.db import models
from django.utils.translation import gettext_lazy as _


class Form(models.Model):
    """A form built in the admin; its fields are data, not code."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), unique=True)
    fields = models.JSONField(_("fields"), default=list, blank=True)
    submit_label = models.CharField(_("submit button text"), max_length=100, default="送信")
    success_message = models.TextField(_("success message"), blank=True)

    class Meta:
        verbose_name = _("form")
        verbose_name_plural = _("forms")

    def __str__(self) -> str:
        return self.name


class LandingPage(models.Model):
    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("slug"), unique=True)
    blocks = models.JSONField(_("blocks"), default=list, blank=True)
    form = models.ForeignKey(Form, models.SET_NULL, null=True, blank=True, verbose_name=_("form"))
    published = models.BooleanField(_("published"), default=False)

    class Meta:
        verbose_name = _("landing page")
        verbose_name_plural = _("landing pages")

    def __str__(self) -> str:
        return self.title
