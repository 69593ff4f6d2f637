import pytest
from django.utils import translation
from jinja2.exceptions import SecurityError

from campaigns import templating
from campaigns.composing import sample_context


def _render(source: str, **lead) -> str:
    context = sample_context()
    context["lead"].update(lead)
    return templating.compile_template(subject="", preheader="", html="", text=source).text.render(context)


def test_the_greeting_idiom_falls_back_to_gotantosha_sama_when_names_are_empty():
    idiom = "{{ lead.last_name }} {{ lead.first_name }} 様"
    assert _render(idiom, last_name="山田", first_name="太郎") == "山田 太郎 様"
    assert _render(idiom) == "ご担当者様"
    assert _render("{{ lead | honorific }}", last_name="佐藤") == "佐藤 様"


def test_fallback_filter_gives_the_default_only_for_empty_values():
    source = '{{ lead.company_name | fallback("貴社") }}'
    assert _render(source) == "貴社"
    assert _render(source, company_name="株式会社A") == "株式会社A"


def test_html_parts_escape_lead_values():
    compiled = templating.compile_template(subject="", preheader="", html="<p>{{ lead.last_name }}</p>", text="")
    context = sample_context()
    context["lead"]["last_name"] = "<script>alert(1)</script>"
    assert "<script>" not in compiled.html.render(context)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("line one\n{{ lead.first_name }\n", "Line 2"),
        ("{% if lead.title %}\nno end", "endif"),
        ("ok\n\n{{ lead.password }}", "Line 3"),
        ("{{ settings.SECRET_KEY }}", "Line 1"),
        ("{{ lead.first_name | nosuchfilter }}", "Line 1"),
        ("{% include 'admin/base.html' %}", "Line 1"),
        ("{{ lead.__class__ }}", "Line 1"),
        ("{% extends 'x' %}", "Line 1"),
    ],
)
def test_templates_that_do_not_render_are_refused_with_their_line(source: str, expected: str):
    with translation.override("en"):
        problems = templating.template_problems(subject="s", preheader="", html="", text=source)
    assert expected in problems["text"][0]


def test_a_valid_template_has_no_problems():
    html = (
        "<table><tr><td>{{ lead | honorific }}</td></tr>{% for x in [1] %}<tr><td>{{ x }}</td></tr>{% endfor %}</table>"
    )
    assert templating.template_problems(subject="{{ lead.last_name }}", preheader="", html=html, text="t") == {}


def test_the_sandbox_refuses_internal_attributes_even_if_the_check_were_bypassed():
    compiled = templating.compile_template(subject="", preheader="", html="", text="{{ lead.__class__.__mro__ }}")
    with pytest.raises(SecurityError):
        compiled.text.render(sample_context())


def test_css_is_inlined_keeping_tags_between_table_rows_in_place():
    html = "<style>td { color: red }</style>"
    html += "<table>{% if lead.title %}<tr><td>{{ lead.title }}</td></tr>{% endif %}</table>"
    inlined = templating.inline_css(html)
    assert 'style="color: red;"' in inlined
    assert inlined.index("{% if lead.title %}") < inlined.index("<tr>") < inlined.index("{% endif %}")


def test_merge_tags_in_the_title_survive_inlining():
    inlined = templating.inline_css("<html><head><title>{{ lead.last_name }} 様</title></head><body>x</body></html>")
    assert "<title>{{ lead.last_name }} 様</title>" in inlined
