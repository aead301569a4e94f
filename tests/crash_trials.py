"""Crash trials: run a real `kho` command, SIGKILL its whole process group at some moment, and
compare what is left — and what a re-run makes of it — with an uninterrupted reference run.

Used by tests/test_crash.py (a few trials in CI) and tests/bench/bench_crash.py (50+ trials). Each
trial works on a fresh copy of a template data directory (the harvested store, the units index
and the batch folders), so trials never see each other's leftovers.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from repository import record_index
from repository.config import Settings
from repository.store import Store, open_store, open_store_read_only

TODAY = "2026-11-26"
KHO = Path(sys.executable).with_name("kho")
# What differs between two runs that ingest the same batch: times, durations, generated ids.
_VOLATILE = [
    (re.compile(r'"\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:\d\d)?"'), '"TIME"'),
    (re.compile(r"\d{8}T\d{6}\d*"), "STAMP"),
    (re.compile(r"\b\d+(?:\.\d+)? s\b"), "N s"),
    # ocrmypdf writes a new PDF/A each run (its ids and dates), so its checksum differs, and the
    # digest of the unit that holds it.
    (
        re.compile(r'(/file/pdfa> <https://w3id.org/kho/ns#(?:sha256|byteSize)> )"[^"]*"'),
        r'\1"PDFA"',
    ),
    (re.compile(r'(#contentDigest> )"[0-9a-f]{64}"'), r'\1"DIGEST"'),
]
OCR_TOOLS = ("tesseract", "ocrmypdf", "gs", "pngquant", "unpaper")


@dataclass
class Template:
    data: Path  # store + units index, nothing ingested
    batches: list[Path]
    chunk: int = 2  # hồ sơ per commit: several commits per batch, so kills fall between them

    def env(self, data: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KHO_")}
        env.update(
            KHO_DATA_DIR=str(data),
            KHO_TODAY=TODAY,
            KHO_INGEST_CHUNK=str(self.chunk),
            KHO_OCR_JOBS="1",
            KHO_SEARCH=os.environ.get("KHO_SEARCH", "whoosh"),
        )
        return env


@dataclass
class State:
    """What a data directory holds, comparable across runs."""

    check: dict[str, object]
    quads: set[str]  # records graphs and the unit bookkeeping, volatile parts normalised
    records: set[str]
    indexed: Counter[str]

    @property
    def errors(self) -> list[dict[str, object]]:
        return [f for f in self.check["findings"] if f["severity"] == "error"]  # type: ignore[index, union-attr]

    @property
    def pending_kinds(self) -> set[str]:
        return {
            str(f["kind"])
            for f in self.check["findings"]  # type: ignore[union-attr]
            if f["severity"] == "pending"
        }


@dataclass
class Trial:
    command: str
    kill_at: float  # seconds after start (or after OCR began)
    phase: str
    after_kill: State | None = None
    after_rerun: State | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def make_template(
    harvested: Settings, root: Path, *, documents: int, scanned_ratio: float
) -> Template:
    """A data directory with the harvested store and its units index, and two demo batches."""
    from harvesters.demo_batch import write_demo

    data = root / "template"
    if data.exists():
        shutil.rmtree(data)
    data.mkdir(parents=True)
    open_store(harvested).backup(data / "store")
    for key in ("pseudonym-key", "secret-key"):  # the same pseudonyms in every copy
        (data / key).write_text(hashlib.sha256(key.encode()).hexdigest())
        (data / key).chmod(0o600)
    shutil.copytree(harvested.index_path, data / "index")  # type: ignore[arg-type]
    batches = write_demo(
        root / "batches", documents=documents, seed=11, scanned_ratio=scanned_ratio
    )
    return Template(data, batches)


def seeded(template: Template, ingested: Path, root: Path) -> Template:
    """The template plus the file store of a data directory that ingested its batches: a run on
    it finds every PDF stored and OCR'd already (what a re-run after a crash often finds)."""
    data = root / "template"
    shutil.copytree(template.data, data)
    shutil.copytree(ingested / "files", data / "files")
    return Template(data, template.batches, template.chunk)


def fresh_copy(template: Template, dest: Path) -> Path:
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(template.data, dest, symlinks=True)
    return dest


def run(
    template: Template, data: Path, args: list[str], timeout: float = 900
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(KHO), *args],
        env=template.env(data),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def ingest_args(template: Template) -> list[str]:
    return ["ingest", *map(str, template.batches), "--jobs", "1"]


def state(template: Template, data: Path) -> State:
    done = run(template, data, ["check", "--json"])
    if done.returncode not in (0, 3):
        raise AssertionError(f"kho check failed ({done.returncode}): {done.stderr[-2000:]}")
    report = json.loads(done.stdout)
    settings = Settings(data_dir=data, today=TODAY, search=template.env(data)["KHO_SEARCH"])
    store = open_store_read_only(settings)
    try:
        quads = _stable_quads(store)
        records = {
            str(r["r"])
            for r in store.select(
                "SELECT ?r WHERE { { ?r a rico:Record } "
                "UNION { ?r rico:hasRecordSetType ric-rst:File } }"
            )
        }
    finally:
        del store
    indexed = (
        Counter(record_index.indexed_documents(settings))
        if record_index.exists(settings)
        else Counter()
    )
    return State(report, quads, records, indexed)


def _stable_quads(store: Store) -> set[str]:
    out = set()
    for graph in store.named_graphs():
        if "/graph/records/" not in graph and not graph.endswith("#metaGraph"):
            continue
        for q in store.graph_quads(graph):
            text = str(q)
            for pattern, repl in _VOLATILE:
                text = pattern.sub(repl, text)
            out.add(text)
    return out


def _children(pgid: int) -> list[str]:
    """Command names of the processes in a process group."""
    names = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)
            if int(fields[1].split()[2]) == pgid:  # field 5: process group
                names.append(fields[0].split("(", 1)[1])
        except (OSError, IndexError, ValueError):
            continue
    return names


def kill_trial(
    template: Template,
    work: Path,
    args: list[str],
    *,
    delay: float,
    during_ocr: bool = False,
    prepare: list[list[str]] | None = None,
) -> tuple[str, float]:
    """Start `kho args` on `work`, SIGKILL its process group after `delay` seconds (counted from
    the first OCR tool when `during_ocr`); return the phase it was killed in and when."""
    for step in prepare or []:
        done = run(template, work, step)
        if done.returncode not in (0, 3):
            raise AssertionError(f"kho {' '.join(step)} failed: {done.stderr[-2000:]}")
    log = work / "killed.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(KHO), *args],
            env=template.env(work),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    started = time.monotonic()
    if during_ocr:
        while proc.poll() is None and not any(n in OCR_TOOLS for n in _children(proc.pid)):
            time.sleep(0.05)
            if time.monotonic() - started > 300:
                break
        started = time.monotonic()
    deadline = started + delay
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    phase = "finished before the kill"
    if proc.poll() is None:
        tools = [n for n in _children(proc.pid) if n in OCR_TOOLS]
        phase = "ocr" if tools else _last_phase(log)
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    _reap(proc.pid)
    return phase, round(time.monotonic() - started, 3)


def _reap(pgid: int) -> None:
    """Wait until no process of the group is left (orphans of ocrmypdf die with the group)."""
    for _ in range(200):
        if not _children(pgid):
            return
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def _last_phase(log: Path) -> str:
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1][:80] if lines else "start-up"


def compare(trial: Trial, reference: State) -> None:
    """What a trial must show: nothing broken after the kill, the reference after the re-run."""
    after, final = trial.after_kill, trial.after_rerun
    assert after is not None and final is not None
    for f in after.errors:
        trial.problems.append(f"after the kill: {f['kind']} {f['subject']}: {f['detail']}")
    # Records half-present: a record in the store whose hồ sơ is not (or the reverse).
    for f in final.errors:
        trial.problems.append(f"after the re-run: {f['kind']} {f['subject']}: {f['detail']}")
    extra = final.pending_kinds - reference.pending_kinds
    if extra:
        trial.problems.append(f"after the re-run, unfinished work left: {sorted(extra)}")
    if final.records != reference.records:
        trial.problems.append(
            f"records differ from the reference: {len(final.records - reference.records)} extra, "
            f"{len(reference.records - final.records)} missing"
        )
    if final.quads != reference.quads:
        more, less = final.quads - reference.quads, reference.quads - final.quads
        trial.problems.append(
            f"quads differ from the reference: {len(more)} extra, {len(less)} missing; e.g. "
            f"{sorted(more)[:2]} / {sorted(less)[:2]}"
        )
    twice = [i for i, n in final.indexed.items() if n > 1]
    if twice or set(final.indexed) != final.records:
        trial.problems.append(
            f"index vs store after the re-run: {len(twice)} twice, "
            f"{len(final.records - set(final.indexed))} missing, "
            f"{len(set(final.indexed) - final.records)} extra"
        )
