"""The shared registry client against small scripted HTTP servers on 127.0.0.1 (issue 5 §1):
retries and backoff, Retry-After, timeouts, malformed answers, 401, a registry that is down,
the answer cache and its expiry, and the token bucket (with a fake clock: no timing assertions).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harvesters.registry_cache import DAY, AnswerCache
from harvesters.registry_client import (
    MAX_WAIT,
    Malformed,
    RegistryClient,
    RegistryDown,
    TokenBucket,
    Unauthorized,
)
from harvesters.registry_lookup import lookup, need

OK = {"status": 200, "body": {"v": "một"}}


class Script:
    """Answers in order (the last one repeats) and remembers every request."""

    def __init__(self, steps: list[dict]) -> None:
        self.steps = list(steps)
        self.requests: list[dict] = []
        self.lock = threading.Lock()

    def next(self, request: dict) -> dict:
        with self.lock:
            self.requests.append(request)
            return self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]


class Handler(BaseHTTPRequestHandler):
    script: Script

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        step = self.script.next(
            {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
        )
        time.sleep(step.get("delay", 0))
        payload = step.get("body", {})
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        try:
            self.send_response(step["status"])
            for name, value in step.get("headers", {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client gave up waiting (timeout test)
            pass

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def scripted(steps: list[dict]) -> Iterator[tuple[str, Script]]:
    script = Script(steps)
    handler = type("ScriptedHandler", (Handler,), {"script": script})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/v1", script
    finally:
        server.shutdown()
        server.server_close()


class FakeClock:
    """Time that moves only when someone sleeps (or the test says so)."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start
        self.slept: list[float] = []
        self.lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.slept.append(seconds)
            self.now += seconds


def parse(body: object) -> dict:
    return {"v": need(body, "v")}


def make_client(
    url: str, cache: AnswerCache | None = None, sleep: FakeClock | None = None, **kw: object
) -> RegistryClient:
    args: dict = {"timeout": 5, "retries": 4, "rate": 0, "backoff": 0.01} | kw
    clock = sleep or FakeClock()
    return RegistryClient(
        "enterprise", url, "sesame", cache=cache, clock=clock, sleep=clock.sleep, **args
    )


def ask(client: RegistryClient, key: str = "k1"):
    return lookup(
        client,
        "GET",
        f"/things/{key}",
        key=key,
        parse=parse,
        not_found=("không có", "none"),
    )


def test_bearer_token_and_a_plain_answer() -> None:
    with scripted([OK]) as (url, script), make_client_ctx(url) as client:
        result = ask(client)
    assert result.status == "verified" and result.facts == {"v": "một"}
    assert result.message_en == "" and result.checked_at.endswith("Z")
    assert script.requests[0]["headers"]["Authorization"] == "Bearer sesame"
    assert script.requests[0]["path"] == "/api/v1/things/k1"


def test_429_with_retry_after_then_200() -> None:
    steps = [{"status": 429, "headers": {"Retry-After": "3"}}, OK]
    clock = FakeClock()
    with scripted(steps) as (url, script), make_client_ctx(url, sleep=clock) as client:
        result = ask(client)
        stats = client.stats.as_dict()
    assert result.status == "verified"
    assert len(script.requests) == 2
    assert len(clock.slept) == 1 and 3 <= clock.slept[0] <= MAX_WAIT  # Retry-After honoured
    assert stats == {"requests": 2, "cache_hits": 0, "retries": 1, "errors": 0}


def test_retry_after_is_capped_at_30_seconds() -> None:
    steps = [{"status": 503, "headers": {"Retry-After": "3600"}}, OK]
    clock = FakeClock()
    with scripted(steps) as (url, _), make_client_ctx(url, sleep=clock) as client:
        assert ask(client).status == "verified"
    assert clock.slept == [MAX_WAIT]


def test_503_three_times_then_200_backs_off_exponentially() -> None:
    steps = [{"status": 503}] * 3 + [OK]
    clock = FakeClock()
    with scripted(steps) as (url, script), make_client_ctx(url, sleep=clock) as client:
        result = ask(client)
    assert result.status == "verified" and len(script.requests) == 4
    # backoff 0.01 s, doubling, each with up to a quarter of jitter
    for n, slept in enumerate(clock.slept):
        assert 0.01 * 2**n <= slept <= 0.01 * 2**n * 1.25
    assert len(clock.slept) == 3


def test_always_500_is_a_registry_error_after_every_try() -> None:
    with scripted([{"status": 500}]) as (url, script), make_client_ctx(url, retries=3) as client:
        result = ask(client)
        stats = client.stats.as_dict()
    assert result.status == "registry-error" and result.facts == {}
    assert len(script.requests) == 4
    assert "after 4 tries (HTTP 500)" in result.message_en
    assert url in result.message_en and "kho registries verify" in result.message_en
    assert "sau 4 lần thử" in result.message_vi
    assert stats["errors"] == 1 and stats["retries"] == 3


def test_always_429_says_to_lower_the_rate() -> None:
    with scripted([{"status": 429}]) as (url, _), make_client_ctx(url, retries=1) as client:
        result = ask(client)
    assert result.status == "registry-error"
    assert "429" in result.message_en and "KHO_REGISTRY_RATE" in result.message_en


def test_a_slow_answer_beyond_the_timeout_is_retried_then_given_up() -> None:
    slow = {"status": 200, "body": {"v": "muộn"}, "delay": 1.0}
    with scripted([slow, OK]) as (url, script), make_client_ctx(url, timeout=0.2) as client:
        assert ask(client).status == "verified"  # second try is fast
        assert len(script.requests) == 2
    with scripted([slow]) as (url, script), make_client_ctx(url, timeout=0.2, retries=1) as c:
        result = ask(c)
    assert result.status == "registry-error"
    assert "no answer within 0.2 s" in result.message_en and "after 2 tries" in result.message_en


def test_malformed_answers_are_errors_and_never_cached(tmp_path: Path) -> None:
    cache = AnswerCache(tmp_path / "cache.sqlite3", days=30)
    bad = [{"status": 200, "body": b"<html>proxy error</html>"}]
    with scripted(bad) as (url, script), make_client_ctx(url, cache=cache) as client:
        first = ask(client)
        second = ask(client)
    assert first.status == second.status == "registry-error"
    assert "not JSON" in first.message_en and "parse_answer" in first.message_en
    assert "KHO_REGISTRY_ENTERPRISE_URL" in first.message_en
    assert len(script.requests) == 2  # the error was not kept
    with scripted([{"status": 200, "body": {"w": 1}}]) as (url, _), make_client_ctx(url) as c:
        result = ask(c)
    assert result.status == "registry-error" and "field 'v'" in result.message_en
    cache.close()


def test_401_names_the_token_setting_and_is_not_retried() -> None:
    steps = [{"status": 401, "body": {"error": "unauthorized"}}]
    with scripted(steps) as (url, script), make_client_ctx(url) as client:
        result = ask(client)
        with pytest.raises(Unauthorized):
            client.fetch("GET", "/x", key="x", parse=parse)
    assert result.status == "registry-error"
    assert "KHO_REGISTRY_ENTERPRISE_TOKEN" in result.message_en
    assert "KHO_REGISTRY_ENTERPRISE_TOKEN" in result.message_vi
    assert len(script.requests) == 2  # one per call: no retries


def test_400_says_the_formats_disagree() -> None:
    steps = [{"status": 400, "body": {"error": "invalid_identifier"}}]
    with scripted(steps) as (url, _), make_client_ctx(url) as client:
        result = ask(client)
    assert result.status == "registry-error" and "identifiers.py" in result.message_en


def test_nothing_listening_is_down() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/api/v1"
    with make_client_ctx(url, retries=2) as client:
        result = ask(client)
        with pytest.raises(RegistryDown):
            client.fetch("GET", "/x", key="x", parse=parse)
    assert result.status == "registry-error"
    assert f"at {url} did not answer after 3 tries" in result.message_en
    assert "kho registries verify" in result.message_en


def test_cache_hit_and_expiry_seen_by_the_server(tmp_path: Path) -> None:
    clock = FakeClock()
    cache = AnswerCache(tmp_path / "cache.sqlite3", days=30, clock=clock)
    steps = [OK, {"status": 404, "body": {"error": "not_found"}}, OK, OK]
    with scripted(steps) as (url, script), make_client_ctx(url, cache=cache) as client:
        assert ask(client, "k1").from_cache is False
        missing = ask(client, "k2")
        assert missing.status == "not-found" and missing.message_en == "none"
        assert len(script.requests) == 2
        again = ask(client, "k1")
        assert again.status == "verified" and again.from_cache and again.facts == {"v": "một"}
        assert ask(client, "k2").status == "not-found"  # not-found answers are kept too
        assert len(script.requests) == 2
        clock.now += 29 * DAY
        assert ask(client, "k1").from_cache
        clock.now += 2 * DAY  # 31 days: expired
        fresh = ask(client, "k1")
        assert fresh.from_cache is False and len(script.requests) == 3
        forced = lookup(
            client, "GET", "/things/k1", key="k1", parse=parse, not_found=("", ""), refresh=True
        )
        assert forced.from_cache is False and len(script.requests) == 4
        stats = client.stats.as_dict()
    assert stats["cache_hits"] == 3 and stats["requests"] == 4
    cache.close()


def test_the_cache_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    with scripted([OK]) as (url, script):
        for _ in range(2):
            cache = AnswerCache(path, days=30)
            with make_client_ctx(url, cache=cache) as client:
                ask(client)
            cache.close()
    assert len(script.requests) == 1


def test_token_bucket_spaces_requests_with_a_fake_clock() -> None:
    clock = FakeClock()
    bucket = TokenBucket(5, clock=clock, sleep=clock.sleep)
    start = clock.now
    for _ in range(10):
        bucket.acquire()
    assert clock.now - start == pytest.approx(9 / 5)  # first at once, then every 0.2 s
    assert all(s == pytest.approx(0.2) for s in clock.slept)


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10, burst=3, clock=clock, sleep=clock.sleep)
    waits = [bucket.acquire() for _ in range(5)]
    assert waits[:3] == [0, 0, 0] and waits[3] == pytest.approx(0.1)


def test_token_bucket_is_thread_safe() -> None:
    """Twenty threads at once each get their own slot: the waits are 0, 0.25, 0.5 … 4.75 s."""
    clock = FakeClock()
    bucket = TokenBucket(4, clock=clock, sleep=lambda s: None)  # time stands still
    waits: list[float] = []
    lock = threading.Lock()

    def take() -> None:
        w = bucket.acquire()
        with lock:
            waits.append(w)

    threads = [threading.Thread(target=take) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(waits) == pytest.approx([n * 0.25 for n in range(20)])


def test_the_client_respects_its_rate() -> None:
    clock = FakeClock()
    with scripted([OK]) as (url, script), make_client_ctx(url, rate=2, sleep=clock) as client:
        for n in range(5):
            ask(client, f"k{n}")
    assert len(script.requests) == 5
    assert sum(clock.slept) == pytest.approx(2.0)  # 5 requests at 2/s: 4 gaps of 0.5 s


def test_need_names_what_is_wrong() -> None:
    with pytest.raises(Malformed, match="not a JSON object"):
        need([1], "v")
    with pytest.raises(Malformed, match="'n' is missing or not a string"):
        need({"n": True}, "n")
    assert need({"n": None}, "n", optional=True) is None
    assert need({"a": 1.5}, "a", (int, float)) == 1.5


@contextmanager
def make_client_ctx(url: str, **kw: object) -> Iterator[RegistryClient]:
    client = make_client(url, **kw)  # type: ignore[arg-type]
    try:
        yield client
    finally:
        client.close()


def test_an_unusable_address_names_the_setting() -> None:
    clock = FakeClock()
    with make_client_ctx("127.0.0.1:5050/no-scheme", sleep=clock) as client:
        result = ask(client)
    assert result.status == "registry-error" and clock.slept == []  # not retried
    assert "fix KHO_REGISTRY_ENTERPRISE_URL" in result.message_en


def test_an_adapter_that_trips_on_an_answer_is_a_malformed_answer() -> None:
    with scripted([{"status": 200, "body": {"x": 1}}]) as (url, _), make_client_ctx(url) as c:
        result = lookup(c, "GET", "/t", key="t", parse=lambda b: b["x"]["y"], not_found=("", ""))
    assert result.status == "registry-error" and "could not be read" in result.message_en
