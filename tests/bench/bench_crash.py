"""Crash trials at scale: `kho ingest` (OCR included), `kho ingest` killed while OCR runs, and
`kho reindex`, each SIGKILLed (the whole process group) at random moments, 50+ trials in all.

After each kill `kho check` must find no problem (unfinished work is allowed: it is what the
re-run finishes); after the re-run the store must equal an uninterrupted run's (records, quads
with times normalised, preservation events, flags), the index must hold each record once, and
nothing may be left unfinished. The baseline is the uninterrupted run: the re-run's time beside
it says what a crash costs.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from repository.config import Settings
from tests import crash_trials as ct
from tests.bench.bench_ingest import harvested_store

SEED = 2026


def _timed(template: ct.Template, work: Path, args: list[str]) -> float:
    started = time.monotonic()
    done = ct.run(template, work, args)
    if done.returncode not in (0, 3):
        raise RuntimeError(f"kho {args[0]} failed: {done.stderr[-2000:]}")
    return time.monotonic() - started


def run(quick: bool = False) -> str:
    counts = (
        {"ingest": 4, "ocr": 2, "reindex": 2} if quick else {"ingest": 30, "ocr": 12, "reindex": 10}
    )
    rng = random.Random(SEED)
    with tempfile.TemporaryDirectory(prefix="kho-bench-crash-") as tmp:
        root = Path(tmp)
        store = harvested_store(root)
        harvested = Settings(data_dir=store.parent, today=ct.TODAY)
        template = ct.make_template(harvested, root, documents=10, scanned_ratio=0.2)
        ref_dir = ct.fresh_copy(template, root / "reference")
        baseline = {"ocr": _timed(template, ref_dir, ct.ingest_args(template))}
        reference = ct.state(template, ref_dir)
        seeded = ct.seeded(template, ref_dir, root / "seeded")
        baseline["ingest"] = _timed(
            seeded, ct.fresh_copy(seeded, root / "seeded-run"), ct.ingest_args(seeded)
        )
        baseline["reindex"] = _timed(template, ref_dir, ["reindex", "--records-only"])
        trials: list[ct.Trial] = []
        reruns: dict[str, list[float]] = {k: [] for k in counts}
        for kind, n in counts.items():
            for i in range(n):
                work = root / "trial"
                if kind == "reindex":
                    tpl, args = template, ["reindex", "--records-only"]
                    ct.fresh_copy(ct.Template(ref_dir, template.batches), work)
                else:
                    tpl = seeded if kind == "ingest" else template
                    args = ct.ingest_args(tpl)
                    ct.fresh_copy(tpl, work)
                delay = rng.uniform(0.0, baseline[kind] * (0.6 if kind == "ocr" else 1.0))
                phase, at = ct.kill_trial(tpl, work, args, delay=delay, during_ocr=kind == "ocr")
                trial = ct.Trial(kind, at, phase)
                trial.after_kill = ct.state(tpl, work)
                reruns[kind].append(_timed(tpl, work, args))
                trial.after_rerun = ct.state(tpl, work)
                ct.compare(trial, reference)
                trials.append(trial)
                print(
                    f"   {kind} {i + 1}/{n}: killed at {at:.1f} s ({phase}): "
                    f"{'ok' if trial.ok else trial.problems}",
                    flush=True,
                )
    return _section(trials, baseline, reruns, quick)


def _phase(trial: ct.Trial) -> str:
    p = trial.phase
    if p == "ocr" or p.startswith("OCR"):
        return "OCR"
    if "records index" in p or "Chỉ mục" in p:
        return "rebuilding the index"
    if "finished" in p:
        return "finished before the kill"
    if "hồ sơ" in p and "/" in p.split("]")[-1]:
        return "between chunk commits"
    return "start-up, sheets, files"


def _section(
    trials: list[ct.Trial], baseline: dict[str, float], reruns: dict[str, list[float]], quick: bool
) -> str:
    labels = {
        "ingest": "`kho ingest` (files stored and OCR'd: sheets, RDF, SHACL, commits, index)",
        "ocr": "`kho ingest` killed while OCR runs (ocrmypdf, Tesseract, PDF/A)",
        "reindex": "`kho reindex --records-only`",
    }
    rows = []
    for kind, label in labels.items():
        mine = [t for t in trials if t.command == kind]
        if not mine:
            continue
        phases = Counter(_phase(t) for t in mine)
        pending = Counter(
            k for t in mine for k in (t.after_kill.pending_kinds if t.after_kill else ())
        )
        failed = sum(1 for t in mine if not t.ok)
        rerun = statistics.median(reruns[kind])
        rows.append(
            f"| {label} | {len(mine)} | {', '.join(f'{p} {n}' for p, n in phases.most_common())} "
            f"| {', '.join(f'{k} {n}' for k, n in pending.most_common()) or 'none'} "
            f"| **{failed}** | {rerun:.1f} s | {baseline[kind]:.1f} s "
            f"| {rerun / baseline[kind]:.2f}× |"
        )
    problems = [
        f"- {t.command} at {t.kill_at:.1f} s ({t.phase}): {t.problems}" for t in trials if not t.ok
    ]
    return "\n".join(
        [
            "## Crash safety: SIGKILL trials" + (" (quick)" if quick else ""),
            "",
            f"{len(trials)} trials (tests/bench/bench_crash.py, seed {SEED}): each starts from a "
            "copy of the same data directory (the harvested store, two demo batches of 10 "
            "documents, 2 of them scanned), kills the command's whole process group with SIGKILL "
            "at a random moment, runs `kho check`, runs the command again, and compares the "
            "store (records, quads with times normalised, preservation events, flags) and the "
            "index with an uninterrupted run. Failed = any problem `kho check` reported after "
            "the kill, or any difference after the re-run.",
            "",
            "| killed | trials | where the kill fell | unfinished work found after the kill "
            "(finished by the re-run) | failed | re-run after the kill (median) | "
            "uninterrupted run (baseline) | ratio |",
            "|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            *(["Problems:", *problems] if problems else ["No trial failed."]),
        ]
    )
