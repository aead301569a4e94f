"""`kho registries ...`: links to the national registries (docs/registries.md)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from repository.config import Settings

Add = Callable[..., argparse.ArgumentParser]


def cmd_registries(args: argparse.Namespace, settings: Settings) -> int:
    raise NotImplementedError


def register(add: Add) -> None:
    add("registries", cmd_registries, "Links to the national registries: verify, simulate.")
