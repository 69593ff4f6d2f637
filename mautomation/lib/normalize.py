"""Keys used to recognise the same person or company however it was typed.

Display values are stored as entered; these keys are what unique constraints
and duplicate searches compare. Pure functions, no Django.
"""

import re
import unicodedata

# Dash-like characters that NFKC leaves alone but people type in phone numbers.
_DASHES = "-‐‑‒–—―−－ー"
_PHONE_SEPARATORS = re.compile(rf"[\s{re.escape(_DASHES)}().]")
_LEGAL_FORMS = re.compile(
    r"(株式会社|有限会社|合同会社|合資会社|合名会社|一般社団法人|一般財団法人|\(株\)|\(有\)|\(同\)|"
    r"\binc\b\.?|\bco\b\.?,?|\bltd\b\.?|\bcorp\b\.?|\bcorporation\b|\bllc\b|\bk\.k\.)",
    re.IGNORECASE,
)


def fold(value: str) -> str:
    """NFKC (full-width to half-width) and trimmed."""
    return unicodedata.normalize("NFKC", value or "").strip()


def email_key(email: str) -> str:
    return fold(email).lower()


def phone_key(phone: str) -> str:
    digits = _PHONE_SEPARATORS.sub("", fold(phone))
    if digits.startswith("+81"):
        digits = "0" + digits[3:]
    return digits


def company_key(name: str) -> str:
    """A company name without legal forms, spaces or case: 株式会社サンプル == サンプル(株)."""
    folded = fold(name).replace("㈱", "(株)").lower()
    stripped = _LEGAL_FORMS.sub(" ", folded)
    return re.sub(r"[\s,.・]+", "", stripped)


def email_domain(email: str) -> str:
    key = email_key(email)
    return key.rpartition("@")[2] if "@" in key else ""
