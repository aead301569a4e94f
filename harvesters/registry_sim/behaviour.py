"""How the simulator misbehaves when asked to (POST /_sim/config), and what it counts
(GET /_sim/stats). One `Behaviour` per app, shared by waitress's threads under one lock.

Never keeps an identifier except those a test put in `fail_ids`: the counts are per registry and
HTTP status only."""

from __future__ import annotations

import copy
import math
import random
import threading
import time
from datetime import date

DEFAULTS: dict[str, object] = {
    "token": "kho-demo-token",  # the Bearer token every request must carry
    "down": False,  # 503 to every registry request; or a list of registries ["land", ...]
    "delay": 0.0,  # seconds before answering
    "rate_limit": 50,  # requests per second per registry and token (token bucket); 0 = none
    "malformed": False,  # broken JSON bodies: true, or the probability of one
    "fail_ids": {},  # identifier -> failures (503) before it is answered; -1 = always
    "flaky": 0.0,  # probability of a 503 for any request
    "seed": 0,  # seeds the random number generator of "flaky" and "malformed"
    "retry_after": None,  # seconds sent as Retry-After with 503s (none by default)
    "today": None,  # the registry's today (YYYY-MM-DD); default: the clock
}
REGISTRIES = {
    "dan-cu": "population",
    "dat-dai": "land",
    "doanh-nghiep": "enterprise",
    "can-bo": "officials",
}


class ConfigError(ValueError):
    pass


def checked(config: dict) -> dict:
    """`config` if every key and value is one the simulator understands, else ConfigError."""
    unknown = sorted(set(config) - set(DEFAULTS))
    if unknown:
        raise ConfigError(f"Unknown setting(s) {', '.join(unknown)}; known: {', '.join(DEFAULTS)}.")
    numbers = ("delay", "rate_limit", "flaky", "seed")
    for key in numbers:
        if key in config and not isinstance(config[key], int | float):
            raise ConfigError(f"{key} must be a number, not {config[key]!r}.")
    if "fail_ids" in config and not (
        isinstance(config["fail_ids"], dict)
        and all(isinstance(n, int) for n in config["fail_ids"].values())
    ):
        raise ConfigError('fail_ids must be {"identifier": failures}, failures -1 for always.')
    down = config.get("down", False)
    if isinstance(down, list) and not set(down) <= set(REGISTRIES.values()):
        raise ConfigError(f"down: true, false or a list of {', '.join(REGISTRIES.values())}.")
    return config


class Behaviour:
    def __init__(self, config: dict | None = None) -> None:
        self.initial = {**copy.deepcopy(DEFAULTS), **checked(dict(config or {}))}
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Back to the configuration the app was made with; counts and failures start again."""
        with self.lock:
            self.config = copy.deepcopy(self.initial)
            self.stats: dict[str, dict[str, int]] = {}
            self.failures: dict[str, int] = {}
            self.buckets: dict[str, tuple[float, float]] = {}  # registry+token -> (tokens, at)
            self.rng = random.Random(self.config["seed"])

    def update(self, changes: dict) -> dict:
        with self.lock:
            self.config.update(checked(changes))
            if "seed" in changes:
                self.rng = random.Random(self.config["seed"])
            if "fail_ids" in changes:
                self.failures = {}
            if "rate_limit" in changes:
                self.buckets = {}
            return copy.deepcopy(self.config)

    def is_down(self, registry: str) -> bool:
        down = self.config["down"]
        return registry in down if isinstance(down, list) else bool(down)

    def today(self) -> str:
        return str(self.config["today"] or date.today().isoformat())

    def count(self, registry: str, status: int) -> None:
        with self.lock:
            counts = self.stats.setdefault(registry, {"requests": 0})
            counts["requests"] += 1
            counts[str(status)] = counts.get(str(status), 0) + 1

    def admit(self, registry: str, token: str) -> float | None:
        """None if `token` may ask `registry` now, else the seconds to wait (rate limit: each
        registry is its own service)."""
        rate = float(self.config["rate_limit"] or 0)
        if rate <= 0:
            return None
        now = time.monotonic()
        with self.lock:
            burst = max(1.0, rate)  # a second's worth of requests at once
            bucket = f"{registry} {token}"
            tokens, at = self.buckets.get(bucket, (burst, now))
            tokens = min(burst, tokens + (now - at) * rate)
            if tokens >= 1:
                self.buckets[bucket] = (tokens - 1, now)
                return None
            self.buckets[bucket] = (tokens, now)
            return (1 - tokens) / rate

    def flake(self) -> bool:
        p = float(self.config["flaky"] or 0)
        with self.lock:
            return p > 0 and self.rng.random() < p

    def should_fail(self, identifier: str) -> bool:
        """True while `identifier` still has failures to give (fail_ids)."""
        with self.lock:
            planned = self.config["fail_ids"].get(identifier)  # type: ignore[union-attr]
            if planned is None:
                return False
            if planned < 0:
                return True
            done = self.failures.get(identifier, 0)
            if done >= planned:
                return False
            self.failures[identifier] = done + 1
            return True

    def malform(self) -> bool:
        m = self.config["malformed"]
        if isinstance(m, bool) or not isinstance(m, int | float):
            return bool(m)
        with self.lock:
            return self.rng.random() < m

    def retry_after(self) -> dict[str, str]:
        seconds = self.config["retry_after"]
        return {} if seconds is None else {"Retry-After": str(math.ceil(float(seconds)))}
