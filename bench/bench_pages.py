"""Landing-page GETs on gunicorn (a page with blocks and a form), against a bare view returning the same HTML."""

import statistics
import sys
import uuid
from pathlib import Path

from bench import httpload, services
from bench.bench_forms import HEADERS, HOST, wait_ready
from bench.bench_http import get
from bench.context import Context
from bench.core import Result

CLIENTS = 32
PAGE_SCRIPT = """
from landing.models import Form, LandingPage
fields = [
    {{"key": "email", "type": "email", "label": "メールアドレス", "required": True, "maps_to": "email"}},
    {{"key": "company", "type": "text", "label": "会社名", "maps_to": "company_name"}},
    {{"key": "consent", "type": "consent", "label": "同意", "wording": "メールでのご案内に同意します。"}},
]
Form.objects.create(name="bench", slug={slug!r}, fields=fields, published=True)
item = {{"title": "一元管理", "text": "リードと行動履歴をひとつに。"}}
blocks = [
    {{"type": "hero", "title": "マーケティングを自動化", "text": "資料を無料でお送りします。", "image_url": "",
      "button_text": "資料請求", "button_url": "#form"}},
    {{"type": "text", "text": "BtoB のリード獲得から商談化までを一つの仕組みで。" * 20}},
    {{"type": "features", "title": "特長", "items": [item] * 6}},
    {{"type": "testimonial", "quote": "商談化率が 2 倍になりました。", "name": "山田", "company": "株式会社サンプル"}},
    {{"type": "form", "form": {slug!r}}},
]
page = LandingPage.objects.create(title="bench", slug={slug!r}, draft_blocks=blocks)
page.publish()
"""
# The baseline: the same Django (settings, middleware, gunicorn) with a view returning the page's HTML as bytes.
BARE_MODULE = """
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mautomation.settings")
from django.conf import settings
settings.ROOT_URLCONF = "bench_bare_page"
from django.core.wsgi import get_wsgi_application
application = get_wsgi_application()
from pathlib import Path
from django.http import HttpResponse
from django.urls import include, path

_page = []


def static_page(request):
    if not _page:  # written by the benchmark before the first request here
        _page.append(Path(os.environ["BENCH_STATIC_PAGE"]).read_bytes())
    return HttpResponse(_page[0])


urlpatterns = [path("bare/", static_page), path("", include("mautomation.urls"))]
"""
CLEANUP_SCRIPT = """
from landing.models import Form, LandingPage
LandingPage.objects.filter(slug={slug!r}).delete()
Form.objects.filter(slug={slug!r}).delete()
"""


def run(ctx: Context) -> list[Result]:
    slug, workdir = f"bench-pages-{uuid.uuid4().hex[:10]}", ctx.workdir("pages")
    (workdir / "bench_bare_page.py").write_text(BARE_MODULE)
    static_page = workdir / "page.html"
    env = ctx.production_env(
        PYTHONPATH=str(workdir), BENCH_STATIC_PAGE=str(static_page), STATIC_ROOT=str(workdir / "static")
    )
    collect = [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"]  # the page links its theme.css
    services.run_logged(collect, env=env, cwd=ctx.root, log=workdir / "collectstatic.log", what="collectstatic")
    script = [sys.executable, "manage.py", "shell", "-c"]
    services.run_logged([*script, PAGE_SCRIPT.format(slug=slug)], env=env, cwd=ctx.root, log=workdir / "page.log",
                        what="create the bench page")  # fmt: skip
    try:
        return measure(ctx, env, workdir, slug=slug, static_page=static_page)
    finally:
        services.run_logged([*script, CLEANUP_SCRIPT.format(slug=slug)], env=env, cwd=ctx.root,
                            log=workdir / "cleanup.log", what="cleanup")  # fmt: skip


def measure(ctx: Context, env: dict[str, str], workdir: Path, *, slug: str, static_page: Path) -> list[Result]:
    port, log = services.free_port(), workdir / "gunicorn.log"
    argv = services.gunicorn_argv("bench_bare_page:application", port, HOST)
    rounds, requests, seconds = ctx.pick(3, 1), ctx.pick(5000, 500), ctx.pick(10, 3)
    with services.process(argv, env=env, cwd=ctx.root, log=log) as server:
        wait_ready(port, server, log)
        status, html = get(port, f"/p/{slug}/")
        if status != 200 or 'name="_token"' not in html:
            raise RuntimeError(f"GET /p/{slug}/ answered {status} without its form")
        static_page.write_text(html)  # what the bare view answers, read by each worker on its first request
        pages, bare = [], []
        for _ in range(rounds):  # interleaved, so a burst of noise on the machine hits both alike
            bare.append(_load(port, "/bare/", requests, seconds))
            pages.append(_load(port, f"/p/{slug}/", requests, seconds))
    note = f"gunicorn sync x2, {CLIENTS} connections, {len(html) // 1024} KB page with a form, median of {rounds}"
    baseline = "bare view returning the same HTML"
    return [
        Result.measured("pages.get_rps", _median(pages, "rps"), "req/s", baseline, _median(bare, "rps"), note),
        Result.measured(
            "pages.get_p99", _median(pages, "p99_ms"), "ms", f"{baseline} p99", _median(bare, "p99_ms"), note
        ),  # fmt: skip
    ]


def _load(port: int, path: str, requests: int, seconds: float) -> httpload.Load:
    loaded = httpload.generate(f"http://{HOST}:{port}{path}", requests=requests, seconds=seconds,
                               concurrency=CLIENTS, headers=HEADERS)  # fmt: skip
    if loaded.errors:
        raise RuntimeError(f"GET {path}: {loaded.errors} errors")
    return loaded


def _median(loads: list[httpload.Load], attr: str) -> float:
    return statistics.median(getattr(x, attr) for x in loads)
