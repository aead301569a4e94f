"""Full rebuilds of what Kho derives from the store — the units search index and the records
index — in bounded memory, with progress (`kho reindex`).

Both indexes are written beside the old ones and swapped in at the end (search keeps answering
meanwhile). The records index reads the store a page of records at a time
(repository.record_documents), so memory stays flat as the store grows; the index engine holds at
most its writer's buffer. Progress is reported as (stage, done, total) — `progress_bar()` draws it
with counts, rate and an estimate of the time left.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from repository.config import Settings
from repository.store import Store

# (stage, done, total): stage is "units" or "records"; done reaches total when the stage ends.
Progress = Callable[[str, int, int], None]

STAGES = {
    "units": "Chỉ mục đơn vị / units index",
    "records": "Chỉ mục tài liệu / records index",
}
_UNITS = "SELECT (COUNT(?u) AS ?n) WHERE { ?u a kho:AdminUnitVersion }"


@dataclass
class ReindexReport:
    """What a rebuild wrote: documents per index and the seconds each took."""

    units: int | None = None  # None: not rebuilt
    records: int | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    def text(self) -> str:
        lines = []
        if self.units is not None:
            lines.append(f"{STAGES['units']}: {self.units:,} units ({self.seconds['units']:.1f} s)")
        if self.records is not None:
            lines.append(
                f"{STAGES['records']}: {self.records:,} hồ sơ + documents "
                f"({self.seconds['records']:.1f} s, {_rate(self.records, self.seconds['records'])})"
            )
        return "\n".join(lines)

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def reindex(
    store: Store,
    settings: Settings,
    *,
    units: bool = True,
    records: bool = True,
    progress: Progress | None = None,
) -> ReindexReport:
    """Rebuild the units index and/or the records index from the store."""
    from repository import record_index, search_index
    from repository.record_documents import count_documents

    report = ReindexReport()
    say = progress or (lambda stage, done, total: None)
    if units:
        total = _count_units(store)
        say("units", 0, total)
        started = time.perf_counter()
        report.units = search_index.build_index(
            store, settings, progress=lambda n: say("units", n, max(n, total))
        )
        report.seconds["units"] = time.perf_counter() - started
        say("units", report.units, report.units)
    if records:
        total = count_documents(store)
        say("records", 0, total)
        started = time.perf_counter()
        report.records = record_index.rebuild(
            store, settings, progress=lambda n: say("records", n, max(n, total))
        )
        report.seconds["records"] = time.perf_counter() - started
        say("records", report.records, report.records)
    return report


def _count_units(store: Store) -> int:
    rows = store.select(_UNITS)
    return int(rows[0]["n"] or 0) if rows else 0  # type: ignore[call-overload]


def _rate(done: int, seconds: float) -> str:
    return f"{done / seconds:,.0f}/s" if seconds > 0 and done else "…/s"


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def progress_bar(stream: Any = None, *, every: float = 5.0) -> Progress:
    """A Progress that draws, per stage, a bar with counts, rate and time left on a terminal;
    elsewhere (a log, CI) a line at the start, every `every` seconds and at the end."""
    out = stream or sys.stderr
    tty = hasattr(out, "isatty") and out.isatty()
    started: dict[str, float] = {}
    ended: set[str] = set()
    last = {"shown": 0.0}

    def update(stage: str, done: int, total: int) -> None:
        if stage in ended:
            return  # the end is shown once, however often it is reported
        now = time.monotonic()
        begun = started.setdefault(stage, now)
        elapsed = now - begun
        finished = done >= total
        if finished:
            ended.add(stage)
        eta = "…"
        if done and elapsed > 0:
            eta = _clock((total - done) * elapsed / done)
        label = STAGES.get(stage, stage)
        counts = f"{done:,}/{total:,} {_rate(done, elapsed)}"
        tail = f"{_clock(elapsed)}" if finished else f"còn / ETA {eta}"
        if tty:
            width = 30
            filled = width * done // max(total, 1)
            bar = "█" * filled + "·" * (width - filled)
            out.write(f"\r{label} {bar} {counts} {tail}\x1b[K")
            if finished:
                out.write("\n")
            out.flush()
        elif done == 0 or finished or now - last["shown"] >= every:
            last["shown"] = now
            percent = 100 * done // max(total, 1)
            out.write(f"{label}: {counts} ({percent}%) {tail}\n")
            out.flush()

    return update
