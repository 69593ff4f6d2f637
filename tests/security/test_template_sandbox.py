"""Email templates are written by marketers: sandbox escapes and method calls are refused when saved, not at send."""

import pytest
from django.utils import translation

from campaigns import composing, templating
from tests.factories import make_lead, make_sender, make_template

pytestmark = pytest.mark.django_db

ESCAPES = [
    '{{ "".__class__.__mro__[1].__subclasses__() }}',
    "{{ lead.custom.__class__ }}",
    "{{ lead['__class__'] }}",
    "{{ lead.custom.update(owner='x') }}",
    "{{ lead.email.format(lead) }}",
    "{{ '{0.__class__}'.format(lead) }}",
    "{% for key in lead.custom.keys() %}{{ key }}{% endfor %}",
    "{{ cycler.__init__.__globals__.os }}",
    "{{ self._TemplateReference__context }}",
    "{% include 'base.html' %}",
    "{% extends 'base.html' %}",
    "{% import 'x' as y %}",
]


@pytest.mark.parametrize("source", ESCAPES)
@pytest.mark.parametrize("part", ["subject", "html", "text"])
def test_a_sandbox_escape_or_method_call_is_refused_on_save_with_its_line(source, part):
    parts = {"subject": "件名", "preheader": "", "html": "<p>本文</p>", "text": "本文"}
    with translation.override("en"):
        problems = templating.template_problems(**{**parts, part: "1行目\n" + source})
    assert list(problems) == [part]
    assert problems[part][0].startswith("Line 2:")


def test_merge_tags_with_filters_are_still_accepted():
    html = '<p>{{ lead | honorific }} {{ lead.company_name | fallback("貴社") }} {{ lead.custom.budget }}</p>'
    assert templating.template_problems(subject="{{ lead.last_name }}", preheader="", html=html, text="x") == {}


def test_template_syntax_in_a_leads_fields_is_shown_as_text_never_run():
    make_sender()
    lead = make_lead(last_name="{{ 1234*5 }}", first_name="{% if 1 %}yes{% endif %}", custom={"budget": "{{ lead }}"})
    template = make_template(html="<p>{{ lead.last_name }} {{ lead.first_name }} {{ lead.custom.budget }}</p>")
    out = composing.preview(template=template, lead=lead)
    assert "{{ 1234*5 }} {% if 1 %}yes{% endif %} {{ lead }}" in out.html
    assert "6170" not in out.html + out.text + out.subject
