"""Every URL pattern of the project as a route string, and a real URL for it built from the world's objects."""

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")
CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")
ADMIN_MODEL = re.compile(r"^admin/(\w+)/(\w+)/")
# Parameters that are not an admin object id: the world key (or a literal) each one takes.
PARAMETERS = {
    "admin/auth/user/<id>/password/": {"id": "auth.user"},
    "admin/r/<path:content_type_id>/<path:object_id>/": {
        "content_type_id": "contenttypes.lead",
        "object_id": "leads.lead",
    },
    "admin/leads/import/<int:pk>/": {"pk": "import"},
    "admin/reports/campaigns/<int:pk>/": {"pk": "campaigns.campaign"},
    "admin/reports/templates/<int:pk>/": {"pk": "campaigns.emailtemplate"},
    "admin/campaigns/campaign/<int:pk>/do/<str:action>/": {"pk": "campaigns.campaign", "action": "pause"},
    "admin/^(?P<app_label>auth|authtoken|leads|scoring|campaigns|landing|reports|sales)/$": {"app_label": "leads"},
    "admin/(?P<url>.*)$": {"url": "no-such-page/"},
    "e/o/<str:token>": {"token": "token:open"},
    "e/c/<str:token>": {"token": "token:click"},
    "e/u/<str:token>": {"token": "token:unsubscribe"},
    "e/u/<str:token>/one-click": {"token": "token:unsubscribe"},
    "f/<slug:slug>/": {"slug": "slug:form"},
    "f/<slug:slug>/embed.js": {"slug": "slug:form"},
    "f/<slug:slug>/confirm/<str:token>/": {"slug": "slug:form", "token": "token:confirm"},
    "d/<str:token>/": {"token": "token:download"},
    "p/<slug:slug>/": {"slug": "slug:page"},
    "p/<slug:slug>/preview/": {"slug": "slug:page"},
}
# Routes with one `pk` that is not the admin's: the model whose id it takes.
PK_MODELS = {
    "sales/leads/": "leads.lead",
    "sales/opportunities/": "sales.opportunity",
    "api/v1/^leads/": "leads.lead",
    "api/v1/^segments/": "leads.segment",
    "api/v1/^lists/": "leads.leadlist",
    "api/v1/^scoring-rules/": "scoring.scoringrule",
    "api/v1/^forms/": "landing.form",
    "api/v1/^opportunities/": "sales.opportunity",
    "api/v1/^sequences/": "campaigns.sequence",
    "api/v1/reports/campaigns/": "campaigns.campaign",
    "api/v1/^campaigns/": "campaigns.campaign",
    "admin/campaigns/emailtemplate/": "campaigns.emailtemplate",
    "admin/campaigns/sequence/": "campaigns.sequence",
}


@dataclass(frozen=True)
class Route:
    route: str
    callback: object

    def url(self, world: dict) -> str:
        values = {name: _value(self.route, name, world) for name in _names(self.route)}
        path = GROUP.sub(lambda m: str(values[m.group(1)]), self.route)
        path = CONVERTER.sub(lambda m: str(values[m.group(1)]), path)
        return "/" + path.replace("^", "").replace("$", "")


def all_routes() -> list[Route]:
    return list(_walk(get_resolver(), ""))


def _walk(resolver: URLResolver, prefix: str):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield Route(prefix + str(pattern.pattern), pattern.callback)


def _names(route: str) -> list[str]:
    return GROUP.findall(route) + CONVERTER.findall(route)


def _value(route: str, name: str, world: dict) -> object:
    key = PARAMETERS.get(route, {}).get(name)
    if key is None and name in ("pk", "object_id"):
        key = next((model for start, model in PK_MODELS.items() if route.startswith(start)), None)
        key = key or "{}.{}".format(*ADMIN_MODEL.match(route).groups())
    return world.get(key, key)
