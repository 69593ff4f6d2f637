"""The load run's wrk harness counts exactly: every request sent before the deadline is answered and counted.

Against a small local HTTP server (127.0.0.1 only), so the exact-count checks of
bench/bench_load.py rest on something tested. Needs wrk (.ci/run installs it); without
it the test fails with the install command unless MAUTOMATION_SKIP_WRK=1 says to skip.
"""

import os
import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench import load_wrk


class Recorder(BaseHTTPRequestHandler):
    seen: list[tuple[str, str, bytes, float]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Recorder.seen.append((self.path, self.headers.get("X-Kind", ""), body, time.time()))
        time.sleep(0.002)
        self.send_response(200 if b"ok" in body else 400)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        Recorder.seen.append((self.path, self.headers.get("X-Kind", ""), b"", time.time()))
        self.send_response(200 if self.path.startswith("/walk/") else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def require_wrk() -> None:
    if shutil.which("wrk"):
        return
    if os.environ.get("MAUTOMATION_SKIP_WRK") == "1":
        pytest.skip("wrk is not installed (MAUTOMATION_SKIP_WRK=1)")
    pytest.fail("wrk is not installed: apt-get install -y wrk")


@pytest.fixture
def server():
    Recorder.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()


def test_every_request_sent_is_answered_counted_and_different(server, tmp_path) -> None:
    require_wrk()
    paths = tmp_path / "paths.txt"
    paths.write_text("".join(f"/walk/{i}\n" for i in range(100_000)))
    kinds = [
        load_wrk.Kind("post", "POST", "/p/{n}/", 3, body="v={n}&ok", headers={"X-Kind": "post"}),
        load_wrk.Kind("walk", "GET", "", 2, headers={"X-Kind": "walk"}, paths=paths),
    ]
    running = load_wrk.start(server, kinds, seconds=2, workdir=tmp_path, grace=3)
    post, walk = running.outcomes()
    posts = [seen for seen in Recorder.seen if seen[1] == "post"]
    walks = [seen for seen in Recorder.seen if seen[1] == "walk"]
    assert post.errors == walk.errors == 0 and post.answered > 10 and walk.answered > 10
    assert post.sent == post.answered == len(posts) and walk.sent == walk.answered == len(walks)
    assert len({body for _, _, body, _ in posts}) == len(posts)  # "{n}" made every body different
    assert len({path for path, _, _, _ in walks}) == len(walks)  # each path used once
    assert max(at for *_, at in Recorder.seen) < running.deadline + 1  # nothing started after the deadline
    assert 0 < post.pct(50) <= post.pct(99) <= post.quantiles[-1][1]


def test_error_answers_are_counted(server, tmp_path) -> None:
    require_wrk()
    kinds = [load_wrk.Kind("bad", "POST", "/p/{n}/", 2, body="v={n}")]  # answered 400
    (bad,) = load_wrk.run(server, kinds, seconds=1, workdir=tmp_path, grace=2)
    assert bad.answered > 0 and bad.errors == bad.answered


def test_total_percentiles_merge_the_kinds_by_their_request_counts() -> None:
    steps = [k / 10 for k in range(1, 1000)] + [100.0]
    fast = load_wrk.Outcome("fast", 900, 900, 0, 1.0, [(q, 10.0) for q in steps])
    slow = load_wrk.Outcome("slow", 100, 100, 0, 1.0, [(q, 500.0) for q in steps])
    assert load_wrk.merged_percentile([fast, slow], 50) == 10.0
    assert load_wrk.merged_percentile([fast, slow], 90) == 10.0
    assert load_wrk.merged_percentile([fast, slow], 91) == 500.0
    assert fast.rps == 900 and fast.pct(99) == 10.0


def test_a_template_line_with_a_newline_is_refused() -> None:
    with pytest.raises(ValueError, match="newline"):
        load_wrk.Kind("x", "POST", "/", 1, body="a\nb").spec()
