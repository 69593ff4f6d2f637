"""The two staff roles and what each may do.

The groups themselves are created by a migration; their permissions are
re-synced after every migrate, so models added by later migrations are covered.
"""

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.db.models import Q

MARKETER = "marketer"
SALES = "sales"

MA_APPS = ("leads", "scoring", "campaigns", "landing", "reports")

# role -> list of ("app label" or "app label.model", permission actions or None for all)
ROLE_PERMISSIONS: dict[str, list[tuple[str, tuple[str, ...] | None]]] = {
    MARKETER: [(app, None) for app in (*MA_APPS, "sales")],
    # Sales works leads and its own opportunities and notes; webhooks and the
    # permission to act on everyone's opportunities stay with marketers.
    SALES: [
        ("leads", ("view",)),
        ("scoring", ("view",)),
        ("sales.opportunity", ("view", "add", "change", "work")),
        ("sales.opportunitystagechange", ("view",)),
        ("sales.attributiontouch", ("view",)),
        ("sales.note", ("view", "add")),
        ("sales.handback", ("view", "add")),
        # Reports are read-only for sales: campaign results and KPIs help inside sales prioritise.
        ("reports", ("view",)),
    ],
}


def permissions_for(role: str):
    query = Q(pk__in=[])
    for target, actions in ROLE_PERMISSIONS[role]:
        app_label, _dot, model = target.partition(".")
        clause = Q(content_type__app_label=app_label)
        if model:
            clause &= Q(content_type__model=model)
        if actions is not None:
            clause &= Q(codename__regex=rf"^({'|'.join(actions)})_")
        query |= clause
    return Permission.objects.filter(query)


def sync_role_permissions() -> None:
    for role in ROLE_PERMISSIONS:
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(permissions_for(role))


def sync_after_migrate(sender, **kwargs) -> None:
    # Permissions are created per app by auth's own post_migrate handler, so wait
    # for the last app: by then every model's permissions exist.
    with_models = [config for config in apps.get_app_configs() if config.models_module is not None]
    if sender.label == with_models[-1].label:
        sync_role_permissions()
