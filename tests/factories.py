"""Small builders for test data; each returns a saved object."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from leads.models import Activity, Lead


def make_user(username: str = "user", *, role: str | None = None, staff: bool = True, superuser: bool = False):
    user = get_user_model().objects.create_user(
        username=username, password="pw-" + username, is_staff=staff, is_superuser=superuser
    )
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def make_lead(email: str = "taro@example.com", **fields) -> Lead:
    return Lead.objects.create(email=email, **fields)


def make_activity(lead: Lead, kind: str = Activity.Kind.PAGE_VIEW, **fields) -> Activity:
    return Activity.objects.create(lead=lead, kind=kind, **fields)
