"""Which process wrote a file Kho leaves behind (a journal entry, a view of the store), and
whether it still runs: a pid alone may have been reused, so its start time goes with it; and
how a process of work that can wait yields the CPU (lower_priority)."""

from __future__ import annotations

import os
from pathlib import Path


def lower_priority(by: int) -> int:
    """Lower this process's CPU priority by `by` (nice; 0: unchanged, at most 19), for work that
    can wait: its children inherit it. The new niceness."""
    return os.nice(min(by, 19) if by > 0 else 0)


def started(pid: int) -> str:
    """The process's start time (clock ticks since boot, from /proc), or "" if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[19]  # field 22, counted after the command name


def running(pid: int, start: str) -> bool:
    """Does the process that was `pid`, started at `start`, still run?"""
    return bool(start) and started(pid) == start
