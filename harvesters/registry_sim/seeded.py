"""Deterministic choices: the same identifier always gets the same answer, across runs and
machines (SHA-256 of the parts, never Python's salted hash())."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")
SALT = "kho-registry-sim-1"


def number(*parts: object) -> int:
    """A 64-bit number fixed by `parts`."""
    text = "|".join([SALT, *map(str, parts)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def fraction(*parts: object) -> float:
    """A number in [0, 1) fixed by `parts`."""
    return number(*parts) / 2**64


def chance(p: float, *parts: object) -> bool:
    """True for a fraction `p` of all `parts`."""
    return fraction(*parts) < p


def pick(items: Sequence[T], *parts: object) -> T:
    return items[number(*parts) % len(items)]


def weighted(items: Sequence[tuple[T, float]], *parts: object) -> T:
    """One of `items` (value, weight), chosen in proportion to the weights."""
    x = fraction(*parts) * sum(w for _, w in items)
    for value, w in items:
        x -= w
        if x < 0:
            return value
    return items[-1][0]


_BASE32 = "0123456789bcdefghjkmnpqrstuvwxyz"


def geohash(lat: float, lon: float, length: int = 12) -> str:
    """The GeoHash of a WGS84 point (the national parcel identifier is a 12-character one)."""
    lat_range, lon_range = [-90.0, 90.0], [-180.0, 180.0]
    bits, even, out, ch = 0, True, [], 0
    while len(out) < length:
        rng, value = (lon_range, lon) if even else (lat_range, lat)
        mid = (rng[0] + rng[1]) / 2
        ch <<= 1
        if value >= mid:
            ch |= 1
            rng[0] = mid
        else:
            rng[1] = mid
        even = not even
        bits += 1
        if bits == 5:
            out.append(_BASE32[ch])
            bits, ch = 0, 0
    return "".join(out)


def geohash_centre(code: str) -> tuple[float, float]:
    """The centre (lat, lon) of a GeoHash cell."""
    lat_range, lon_range = [-90.0, 90.0], [-180.0, 180.0]
    even = True
    for c in code:
        n = _BASE32.index(c)
        for shift in range(4, -1, -1):
            rng = lon_range if even else lat_range
            mid = (rng[0] + rng[1]) / 2
            if n >> shift & 1:
                rng[0] = mid
            else:
                rng[1] = mid
            even = not even
    return (lat_range[0] + lat_range[1]) / 2, (lon_range[0] + lon_range[1]) / 2
