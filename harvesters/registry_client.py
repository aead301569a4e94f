"""The HTTP client every registry harvester shares (docs/registries.md, "What Kho does with it"):
Bearer token, timeouts, retries with exponential backoff and jitter on 429/5xx/timeouts/refused
connections (honouring Retry-After, capped at 30 s), a token-bucket rate limit per registry, and
the answer cache. Registry trouble is raised inside as a typed RegistryError and turned into a
Lookup by `registry_lookup.lookup()`, so no batch ever stops on it.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from harvesters.registry_cache import AnswerCache, CachedAnswer

MAX_WAIT = 30.0  # seconds: no backoff or Retry-After waits longer
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
LABELS = {  # registry -> (Vietnamese, English)
    "population": ("CSDL quốc gia về dân cư", "population registry"),
    "land": ("CSDL quốc gia về đất đai", "land registry"),
    "enterprise": ("CSDL quốc gia về đăng ký doanh nghiệp", "enterprise registry"),
    "officials": ("CSDL cán bộ, công chức, viên chức", "officials registry"),
}
AGAIN_VI = "Chạy lại `kho registries verify` sau."
AGAIN_EN = "run `kho registries verify` again later."


# -- errors inside the harvesters ------------------------------------------------------------


class RegistryError(Exception):
    """Registry trouble, with what went wrong and what to do in Vietnamese and English."""

    def __init__(self, message_vi: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_vi = message_vi
        self.message_en = message_en


class RegistryDown(RegistryError):
    """No usable answer after every try (refused, timed out, 429 or 5xx each time)."""


class Unauthorized(RegistryError):
    """401/403: the token is missing or wrong."""


class Malformed(RegistryError):
    """An answer that is not the agreed JSON (docs/registries.md)."""

    def __init__(self, what: str) -> None:
        super().__init__(what, what)
        self.what = what


class Misconfigured(RegistryError):
    """A base URL that cannot be asked at all (no scheme, no host)."""


class Refused(RegistryError):
    """400: the registry calls an identifier malformed that Kho's check accepted."""


class NotFound(Exception):
    """The registry does not know the identifier (404, or an answer saying so)."""


# -- rate limit --------------------------------------------------------------------------------


class TokenBucket:
    """At most `rate` requests per second, `burst` at once (a token bucket kept as the time the
    next token is due). Thread-safe: each caller reserves its own slot under the lock, then waits
    outside it. `clock` and `sleep` are injectable so tests need no real time."""

    def __init__(
        self,
        rate: float,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = time.sleep,
    ) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.burst = max(1, burst)
        self.clock = clock
        self.sleep = sleep
        self._due = 0.0  # when the bucket is next empty of the tokens already promised
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Wait for a token; returns the seconds waited."""
        if not self.interval:
            return 0.0
        with self._lock:
            now = self.clock()
            due = max(self._due, now)
            start = max(now, due - (self.burst - 1) * self.interval)
            self._due = due + self.interval
        wait = start - now
        if wait > 0:
            self.sleep(wait)
        return wait


# -- the client ----------------------------------------------------------------------------------


@dataclass
class Answer:
    found: bool
    facts: dict
    checked_at: str
    from_cache: bool = False


@dataclass
class _Try:
    """What went wrong on one try, to say after the last one."""

    problem_vi: str
    problem_en: str
    retry_after: float | None = None
    status: int | None = None


@dataclass
class Stats:
    requests: int = 0
    cache_hits: int = 0
    retries: int = 0
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str, n: int = 1) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + n)

    def as_dict(self) -> dict[str, int]:
        return {
            "requests": self.requests,
            "cache_hits": self.cache_hits,
            "retries": self.retries,
            "errors": self.errors,
        }


class RegistryClient:
    """One registry's API at `base_url`. `fetch()` answers from the cache or asks the registry,
    retrying as docs/registries.md says; it raises RegistryError subclasses for trouble."""

    def __init__(
        self,
        name: str,
        base_url: str,
        token: str,
        timeout: float,
        retries: int,
        rate: float,
        cache: AnswerCache | None,
        backoff: float = 0.5,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = time.sleep,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = max(0, retries)
        self.cache = cache
        self.backoff = backoff
        self.sleep = sleep
        self.bucket = TokenBucket(rate, clock=clock, sleep=sleep)
        self.stats = Stats()
        self.label_vi, self.label_en = LABELS.get(name, (name, f"{name} registry"))
        self.session = requests.Session()
        self.session.headers.update(
            {
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "User-Agent": "Kho registry harvester (docs/registries.md)",
            }
        )

    def close(self) -> None:
        self.session.close()

    def fetch(
        self,
        method: str,
        path: str,
        *,
        key: str,
        parse: Callable[[Any], dict],
        params: dict[str, str] | None = None,
        json: dict | None = None,
        refresh: bool = False,
    ) -> Answer:
        """The parsed facts for `key` (found) or Answer(found=False); cached unless an error.
        `parse` turns the JSON into facts, raising Malformed or NotFound."""
        if self.cache is not None and not refresh:
            kept = self.cache.get(self.name, key)
            if kept is not None:
                self.stats.add("cache_hits")
                return Answer(kept.found, kept.facts, kept.checked_at, from_cache=True)
        try:
            body = self._ask(method, path, params=params, json=json)
            facts = {} if body is None else parse(body)
            found = body is not None
        except NotFound:
            facts, found = {}, False
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as e:
            # an adapter that did not foresee this answer: still a malformed answer, not a crash
            raise Malformed(f"the answer could not be read ({type(e).__name__})") from None
        if self.cache is not None:
            kept = self.cache.put(self.name, key, found, facts)
        else:
            kept = CachedAnswer(found, facts, time.time())
        return Answer(found, facts, kept.checked_at)

    def _ask(self, method: str, path: str, *, params: dict | None, json: dict | None) -> Any | None:
        """The JSON of a 200, None for a 404; retries, then raises RegistryDown."""
        url = f"{self.base_url}{path}"
        tries = self.retries + 1
        last: _Try | None = None
        for attempt in range(tries):
            if attempt:
                self.stats.add("retries")
                self.sleep(self._delay(attempt, last.retry_after if last else None))
            self.bucket.acquire()
            self.stats.add("requests")
            try:
                response = self.session.request(
                    method, url, params=params, json=json, timeout=self.timeout
                )
            except requests.Timeout:
                last = _Try(
                    f"không trả lời trong {self.timeout} giây",
                    f"no answer within {self.timeout} s",
                )
                continue
            except (
                requests.exceptions.InvalidURL,
                requests.exceptions.InvalidSchema,
                requests.exceptions.MissingSchema,
            ) as e:
                var = f"KHO_REGISTRY_{self.name.upper()}_URL"
                raise Misconfigured(
                    f"Địa chỉ {url} của {self.label_vi} không dùng được ({type(e).__name__}). "
                    f"Sửa {var}.",
                    f"The {self.label_en}'s address {url} is not usable ({type(e).__name__}); "
                    f"fix {var}.",
                ) from None
            except requests.RequestException as e:  # refused, dropped, cut off half-way
                last = _Try(
                    f"không kết nối được ({type(e).__name__})",
                    f"connection refused or dropped ({type(e).__name__})",
                )
                continue
            with response:
                if response.status_code in RETRY_STATUSES:
                    last = _Try(
                        f"HTTP {response.status_code}",
                        f"HTTP {response.status_code}",
                        _retry_after(response.headers.get("Retry-After")),
                        response.status_code,
                    )
                    continue
                return self._answer(response)
        raise self._down(tries, last)

    def _answer(self, response: requests.Response) -> Any | None:
        status = response.status_code
        if status == 404:
            return None
        if status in (401, 403):
            var = f"KHO_REGISTRY_{self.name.upper()}_TOKEN"
            raise Unauthorized(
                f"{self.label_vi} tại {self.base_url} từ chối token của Kho (HTTP {status}). "
                f"Kiểm tra {var}.",
                f"The {self.label_en} at {self.base_url} refused Kho's token (HTTP {status}); "
                f"check {var}.",
            )
        if status == 400:
            raise Refused(
                f"{self.label_vi} cho rằng mã định danh sai định dạng dù Kho đã kiểm tra là hợp "
                "lệ: hai bên hiểu định dạng khác nhau. Đối chiếu repository/identifiers.py với "
                "tài liệu của cơ sở dữ liệu.",
                f"The {self.label_en} calls the identifier malformed although Kho's check "
                "accepts it: the two disagree about its format. Compare repository/identifiers.py "
                "with the registry's documentation.",
            )
        if status != 200:
            raise Malformed(f"unexpected HTTP {status}")
        try:
            return response.json()
        except ValueError:
            raise Malformed("the answer is not JSON") from None

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """Backoff before try `attempt` (1-based retries): 0.5 s, 1 s, 2 s … or Retry-After,
        never more than 30 s; jitter spreads the retries of parallel workers."""
        if retry_after is not None:
            return min(MAX_WAIT, retry_after + random.uniform(0, 0.1 * self.backoff))
        base = self.backoff * 2 ** (attempt - 1)
        return min(MAX_WAIT, base + random.uniform(0, base / 4))

    def _down(self, tries: int, last: _Try | None) -> RegistryDown:
        vi = last.problem_vi if last else "?"
        en = last.problem_en if last else "?"
        if last is not None and last.status == 429:
            var = f"KHO_REGISTRY_RATE ({self.bucket.interval and 1 / self.bucket.interval:g}/s)"
            return RegistryDown(
                f"{self.label_vi} tại {self.base_url} vẫn báo quá tải (HTTP 429) sau {tries} lần "
                f"thử. Giảm {var} hoặc chạy lại `kho registries verify` sau.",
                f"The {self.label_en} at {self.base_url} still answered 429 (too many requests) "
                f"after {tries} tries; lower {var} or {AGAIN_EN}",
            )
        return RegistryDown(
            f"{self.label_vi} tại {self.base_url} không trả lời sau {tries} lần thử ({vi}). "
            f"{AGAIN_VI}",
            f"The {self.label_en} at {self.base_url} did not answer after {tries} tries ({en}); "
            f"{AGAIN_EN}",
        )


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (seconds form; an HTTP date counts as 'unknown')."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
