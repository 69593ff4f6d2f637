"""Grouping leads into companies by email domain, or by name where the domain says nothing."""

from django.db import IntegrityError, transaction

from leads.models import Company
from mautomation.lib.normalize import company_key, email_domain

# Addresses at these domains say nothing about the employer.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.co.jp",
        "yahoo.com",
        "ymail.ne.jp",
        "outlook.jp",
        "outlook.com",
        "hotmail.com",
        "hotmail.co.jp",
        "live.jp",
        "live.com",
        "msn.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "docomo.ne.jp",
        "ezweb.ne.jp",
        "au.com",
        "softbank.ne.jp",
        "i.softbank.jp",
        "nifty.com",
        "biglobe.ne.jp",
        "so-net.ne.jp",
        "ocn.ne.jp",
        "proton.me",
        "protonmail.com",
    }
)


def company_domain(email: str) -> str:
    """The employer's domain of an address, or "" for free-mail and malformed addresses."""
    domain = email_domain(email)
    return "" if domain in FREE_MAIL_DOMAINS else domain


def company_domain_of_key(key: str) -> str:
    """company_domain of an email key (already folded): the same answer without folding it again."""
    domain = key.rpartition("@")[2] if "@" in key else ""
    return "" if domain in FREE_MAIL_DOMAINS else domain


def company_for(*, email: str, company_name: str) -> Company | None:
    """The company a lead belongs to, created when first seen.

    Same domain means same company. Without a usable domain (free mail), the
    name key decides. Two companies with the same name but different domains
    stay two.
    """
    domain, key = company_domain(email), company_key(company_name)
    if domain:
        found = Company.objects.filter(domain=domain).order_by("pk").first()
    elif key:
        found = Company.objects.filter(name_key=key, domain="").order_by("pk").first()
    else:
        return None
    return found or _create(name=company_name.strip() or domain, key=key, domain=domain)


def _create(*, name: str, key: str, domain: str) -> Company:
    try:
        with transaction.atomic():
            return Company.objects.create(name=name, domain=domain)
    except IntegrityError:  # created concurrently by another ingest
        return Company.objects.get(name_key=key or company_key(name), domain=domain)
