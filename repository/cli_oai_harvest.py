"""`kho oai-harvest URL`: pull records from another archive's OAI-PMH provider into a batch."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from repository.config import Settings

Add = Callable[..., argparse.ArgumentParser]


def cmd_oai_harvest(args: argparse.Namespace, settings: Settings) -> int:
    raise NotImplementedError


def register(add: Add) -> None:
    add("oai-harvest", cmd_oai_harvest, "Harvest another archive's OAI-PMH records into a batch.")
