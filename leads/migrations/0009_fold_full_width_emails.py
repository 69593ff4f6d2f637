"""Leads imported or submitted with a full-width address (ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ) get it half-width.

Before leads.validation.clean_email folded addresses, such an address was stored as typed: it matched
its lead (the key was always folded) but SMTP could not carry it. Only rows with a non-ASCII address
are read; the key, and so every uniqueness rule, stays what it was.
"""

import unicodedata

from django.db import migrations

EMAIL_MAX = 254


def fold_addresses(apps, schema_editor) -> None:
    Lead = apps.get_model("leads", "Lead")
    for lead in Lead.objects.filter(email__regex=r"[^\x00-\x7f]").only("pk", "email").iterator():
        folded = unicodedata.normalize("NFKC", lead.email).strip()
        if folded != lead.email and folded.isascii() and len(folded) <= EMAIL_MAX:
            Lead.objects.filter(pk=lead.pk).update(email=folded)


class Migration(migrations.Migration):
    dependencies = [("leads", "0008_lead_mql_at_index")]
    operations = [migrations.RunPython(fold_addresses, migrations.RunPython.noop)]
