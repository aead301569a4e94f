"""Crash safety: `kho ingest` (also during OCR) and `kho reindex` killed with SIGKILL (the whole
process group, as a power cut or the OOM killer would) at several moments; afterwards the store,
the files and the search index agree (`kho check` finds no problem), and a re-run leaves exactly
what an uninterrupted run leaves — no record half-present, none twice, every preservation event.
tests/bench/bench_crash.py runs 50+ such trials at random moments; CI runs these few."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from repository.config import Settings
from repository.store import open_store_read_only
from tests import crash_trials as ct


@dataclass
class Reference:
    state: ct.State
    data: Path
    seconds: float
    seeded: ct.Template  # the template with the reference's OCR'd files: kills without OCR


@pytest.fixture(scope="module")
def template(embedded_harvest: Settings, tmp_path_factory: pytest.TempPathFactory) -> ct.Template:
    return ct.make_template(
        embedded_harvest, tmp_path_factory.mktemp("crash"), documents=6, scanned_ratio=0.17
    )


@pytest.fixture(scope="module")
def reference(template: ct.Template, tmp_path_factory: pytest.TempPathFactory) -> Reference:
    work = ct.fresh_copy(template, tmp_path_factory.mktemp("crash-ref") / "data")
    done = ct.run(template, work, ct.ingest_args(template))
    assert done.returncode in (0, 3), done.stderr[-3000:]
    state = ct.state(template, work)
    assert not state.errors, state.errors
    assert state.records and set(state.indexed) == state.records
    seeded = ct.seeded(template, work, tmp_path_factory.mktemp("crash-seeded"))
    started = time.monotonic()
    done = ct.run(
        seeded, ct.fresh_copy(seeded, work.with_name("seeded-run")), ct.ingest_args(seeded)
    )
    assert done.returncode in (0, 3), done.stderr[-3000:]
    return Reference(state, work, time.monotonic() - started, seeded)


def _rerun_and_compare(template: ct.Template, ref: Reference, work: Path, trial: ct.Trial) -> None:
    trial.after_kill = ct.state(template, work)
    args = ct.ingest_args(template) if trial.command == "ingest" else ["reindex", "--records-only"]
    done = ct.run(template, work, args)
    assert done.returncode in (0, 3), done.stderr[-3000:]
    trial.after_rerun = ct.state(template, work)
    ct.compare(trial, ref.state)
    assert trial.ok, (trial.phase, trial.kill_at, trial.problems)


def test_a_second_run_of_the_same_batches_writes_nothing(
    template: ct.Template, reference: Reference, tmp_path: Path
) -> None:
    """The re-run after a crash relies on it: the same batches give the same store (a duplicate
    inside a batch is flagged on the later record only, whatever is already stored)."""
    work = tmp_path / "data"
    shutil.copytree(reference.data, work)
    done = ct.run(template, work, ct.ingest_args(template))
    assert done.returncode in (0, 3), done.stderr[-3000:]
    again = ct.state(template, work)
    assert again.quads == reference.state.quads
    assert "files replaced:     0" in done.stdout and "files added:        0" in done.stdout


@pytest.mark.parametrize("fraction", [0.35, 0.8])
def test_ingest_killed_then_rerun_is_whole(
    template: ct.Template, reference: Reference, tmp_path: Path, fraction: float
) -> None:
    """Files already stored and OCR'd (an earlier attempt): the kill falls in reading the sheets,
    building, validating, committing or indexing."""
    seeded = reference.seeded
    work = ct.fresh_copy(seeded, tmp_path / "data")
    delay = reference.seconds * fraction
    phase, at = ct.kill_trial(seeded, work, ct.ingest_args(seeded), delay=delay)
    _rerun_and_compare(seeded, reference, work, ct.Trial("ingest", at, phase))


def test_ingest_killed_during_ocr_then_rerun_is_whole(
    template: ct.Template, reference: Reference, tmp_path: Path
) -> None:
    work = ct.fresh_copy(template, tmp_path / "data")
    phase, at = ct.kill_trial(template, work, ct.ingest_args(template), delay=1.0, during_ocr=True)
    _rerun_and_compare(template, reference, work, ct.Trial("ingest", at, phase))


def test_reindex_killed_then_rerun_is_whole(
    template: ct.Template, reference: Reference, tmp_path: Path
) -> None:
    work = tmp_path / "data"
    shutil.copytree(reference.data, work)
    args = ["reindex", "--records-only"]
    phase, at = ct.kill_trial(template, work, args, delay=1.2)
    _rerun_and_compare(template, reference, work, ct.Trial("reindex", at, phase))


def test_records_committed_ahead_of_the_index_are_pending_until_repaired(
    template: ct.Template, reference: Reference, tmp_path: Path
) -> None:
    """The moment the benchmark found: killed after a commit, before the index took it. The
    journal names those records, so `kho check` reports unfinished work, not damage; --repair
    (or the next ingest, reindex or serve) indexes them."""
    import json
    import os

    from repository import record_index

    work = tmp_path / "data"
    shutil.copytree(reference.data, work)
    settings = Settings(data_dir=work, today=ct.TODAY)
    gone = sorted(reference.state.records)[:3]
    record_index.update(open_store_read_only(settings), settings, [], gone)
    journal = work / "records-index.pending"
    journal.mkdir(exist_ok=True)
    dead = 4_194_000  # above any pid this machine hands out: a process that no longer runs
    assert not os.path.exists(f"/proc/{dead}")
    (journal / f"{dead}-0.json").write_text(json.dumps({"pid": dead, "started": "0", "iris": gone}))
    after = ct.state(template, work)
    assert not after.errors and after.pending_kinds == {"index-journal"}
    done = ct.run(template, work, ["check", "--repair"])
    assert done.returncode == 0, done.stdout[-2000:]
    final = ct.state(template, work)
    assert not final.errors and not final.pending_kinds and set(final.indexed) == final.records


def test_killed_before_the_index_was_first_made_is_pending_too(
    template: ct.Template, reference: Reference, tmp_path: Path
) -> None:
    """The benchmark's second finding: the first commit landed, the records index did not exist
    yet. Journalled records without an index are unfinished work, not an absent index."""
    import json

    work = tmp_path / "data"
    shutil.copytree(reference.data, work)
    shutil.rmtree(work / "records-index")
    journal = work / "records-index.pending"
    journal.mkdir(exist_ok=True)
    iris = sorted(reference.state.records)
    (journal / "4194001-0.json").write_text(
        json.dumps({"pid": 4194001, "started": "0", "iris": iris})
    )
    after = ct.state(template, work)
    assert not after.errors and after.pending_kinds == {"index-journal"}
    assert ct.run(template, work, ["check", "--repair"]).returncode == 0
    final = ct.state(template, work)
    assert not final.errors and not final.pending_kinds and set(final.indexed) == final.records
