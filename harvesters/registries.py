"""The four national registries behind one object (docs/registries.md): each lookup validates
the identifier, asks the registry (or the cache) and answers a Lookup — it never raises for
registry trouble or an invalid identifier.

    reg = Registries(settings)
    reg.enterprise("0100109106").status   # "verified" | "not-found" | "registry-error"
    reg.close()
"""

from __future__ import annotations

import threading
from datetime import date
from types import TracebackType

from harvesters import registry_enterprise, registry_land, registry_officials, registry_population
from harvesters.registry_cache import AnswerCache
from harvesters.registry_client import RegistryClient
from harvesters.registry_lookup import Lookup
from repository.config import Settings
from repository.identifiers import REGISTRIES, ParcelKey

__all__ = ["Lookup", "ParcelKey", "Registries"]


class Registries:
    """Clients of the four registries, opened when first used, sharing one answer cache."""

    def __init__(self, settings: Settings, backoff: float = 0.5) -> None:
        self.settings = settings
        self.backoff = backoff
        self._clients: dict[str, RegistryClient] = {}
        self._cache: AnswerCache | None = None
        self._secret: bytes | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> Registries:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def client(self, name: str) -> RegistryClient:
        """The client of registry `name` (population, land, enterprise, officials)."""
        with self._lock:
            if name not in self._clients:
                if name not in REGISTRIES:
                    raise ValueError(f"no registry {name!r}; one of {', '.join(REGISTRIES)}")
                s = self.settings
                if self._cache is None:
                    self._cache = AnswerCache(s.registry_cache_path, s.registry_cache_days)
                self._clients[name] = RegistryClient(
                    name,
                    getattr(s, f"registry_{name}_url"),
                    getattr(s, f"registry_{name}_token"),
                    timeout=s.registry_timeout,
                    retries=s.registry_retries,
                    rate=s.registry_rate,
                    cache=self._cache,
                    backoff=self.backoff,
                )
            return self._clients[name]

    def _pseudonym_secret(self) -> bytes:
        if self._secret is None:
            self._secret = self.settings.pseudonym_secret()
        return self._secret

    def _today(self) -> date | None:
        return date.fromisoformat(self.settings.today) if self.settings.today else None

    # -- lookups ---------------------------------------------------------------------------------

    def citizen(self, number: str, refresh: bool = False) -> Lookup:
        """Whether the number exists (facts {}); the number is never logged, cached or in a URL."""
        return registry_population.verify(
            self.client("population"),
            number,
            self._pseudonym_secret(),
            on=self._today(),
            refresh=refresh,
        )

    def enterprise(self, code: str, refresh: bool = False) -> Lookup:
        return registry_enterprise.verify(self.client("enterprise"), code, refresh=refresh)

    def parcel(self, key: ParcelKey, refresh: bool = False) -> Lookup:
        return registry_land.verify_parcel(self.client("land"), key, refresh=refresh)

    def unit(self, code: str, on: str, refresh: bool = False) -> Lookup:
        return registry_land.verify_unit(self.client("land"), code, on, refresh=refresh)

    def official(self, code: str, refresh: bool = False) -> Lookup:
        return registry_officials.verify_official(self.client("officials"), code, refresh=refresh)

    def agency(self, name: str, on: str, refresh: bool = False) -> Lookup:
        return registry_officials.verify_agency(self.client("officials"), name, on, refresh=refresh)

    # -- bookkeeping -----------------------------------------------------------------------------

    @property
    def stats(self) -> dict[str, dict[str, int]]:
        """Per registry: requests sent (retries included), cache hits, retries, lookups that
        ended in a registry error."""
        zero = {"requests": 0, "cache_hits": 0, "retries": 0, "errors": 0}
        with self._lock:
            return {
                name: self._clients[name].stats.as_dict() if name in self._clients else dict(zero)
                for name in REGISTRIES
            }

    def forget_cache(self, registry: str | None = None) -> int:
        """Drop kept answers (of one registry) so that the next lookups ask again."""
        cache = self._cache or AnswerCache(
            self.settings.registry_cache_path, self.settings.registry_cache_days
        )
        try:
            return cache.forget(registry)
        finally:
            if cache is not self._cache:
                cache.close()

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()
            if self._cache is not None:
                self._cache.close()
                self._cache = None
