"""Ingest rate: metadata-only batches of 10k and 100k records with the SHACL gate on, and a batch of
scans with OCR; peak memory of each run (one process per size, so the peaks are separate).

Each size runs `kho ingest` in-process in a child (python -m tests.bench.bench_ingest --size N) on
a cheap backup of a harvested store, so the store starts the same for every size.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEADERS = [
    "fileCode",
    "title",
    "maintenance",
    "mode",
    "language",
    "startDate",
    "endDate",
    "totalDoc",
    "numberOfPaper",
    "numberOfPage",
    "docCode",
    "docOrdinal",
    "typeName",
    "codeNumber",
    "codeNotation",
    "issuedDate",
    "organName",
    "subject",
]


def harvested_store(work: Path) -> Path:
    """A store with the gazetteer and agencies: KHO_BENCH_DATA_DIR, ./data, or a fresh harvest."""
    from repository.config import Settings
    from repository.store import Store

    for candidate in (os.environ.get("KHO_BENCH_DATA_DIR"), str(ROOT / "data")):
        if candidate and (Path(candidate) / "store").is_dir():
            return Path(candidate) / "store"
    from harvesters.units import harvest_units
    from repository.search_index import build_index

    settings = Settings(data_dir=work / "harvested")
    store = Store(settings.store_path)
    harvest_units(store, settings)
    build_index(store, settings)  # the units index beside the store, as ./data has it
    return Path(settings.store_path)  # type: ignore[arg-type]


def write_sheet(folder: Path, records: int, seed: int = 11) -> int:
    """A TT 05/2025 one-sheet CSV: hồ sơ rows followed by their document rows; no PDFs."""
    from harvesters.specimens import random_specs

    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    rows, made, n = [HEADERS], 0, 0
    specs = iter(random_specs(rng, records))
    while made < records:
        n += 1
        docs = [next(specs, None) for _ in range(rng.randint(2, 6))]
        docs = [d for d in docs if d is not None]
        if not docs:
            break
        first = docs[0]
        code = f"B{seed}.{first.admin_unit_code}.{first.issued_on.year}.{n:06d}"
        start = min(d.issued_on for d in docs).strftime("%d/%m/%Y")
        end = max(d.issued_on for d in docs).strftime("%d/%m/%Y")
        rows.append(
            [
                code,
                f"Hồ sơ {first.subject[:120]}",
                rng.choice(["01", "04", "06", ""]),
                "01",
                "01",
                start,
                end,
                len(docs),
                len(docs),
                len(docs),
            ]
            + [""] * 8
        )
        made += 1
        for k, d in enumerate(docs, start=1):
            rows.append(
                [""] * 9
                + [
                    "1",
                    f"{code}.{k:07d}",
                    k,
                    d.type_code,
                    d.number,
                    d.notation,
                    d.issued_on.strftime("%d/%m/%Y"),
                    d.issuer,
                    d.subject,
                ]
            )
            made += 1
    with (folder / "bang-ke.csv").open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return made


def child(size: int, store_src: Path, ocr_docs: int) -> dict[str, object]:
    """Run in a fresh process: one ingest, its timings and peak memory."""
    from repository.config import Settings
    from repository.ingest import ingest_batch
    from repository.store import open_store_read_only

    work = Path(tempfile.mkdtemp(prefix="kho-bench-ingest-"))
    try:
        settings = Settings(data_dir=work / "data", today="2026-11-26")
        open_store_read_only(store_src).backup(Path(settings.store_path))  # type: ignore[arg-type]
        batch = work / "batch"
        if ocr_docs:
            from harvesters.demo_batch import write_demo

            folders = write_demo(work / "ocr", documents=ocr_docs, seed=5, scanned_ratio=1.0)
            batch = folders[0]
            made = None
        else:
            made = write_sheet(batch, size)
        from repository.store import open_store

        store = open_store(settings.store_path)  # type: ignore[arg-type]
        start = time.perf_counter()
        report = ingest_batch(batch, store, settings, metadata_only=not ocr_docs, jobs=2)
        seconds = time.perf_counter() - start
        records = report.hoso_added + report.docs_committed
        return {
            "size": made or records,
            "records": records,
            "rejected": len(report.rejected),
            "seconds": round(seconds, 2),
            "rate": round(records / seconds, 1),
            "timings": report.timings,
            "pages": report.pages,
            "ocr_pages": report.ocr_pages,
            "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "store_mb": round(
                sum(f.stat().st_size for f in Path(settings.store_path).rglob("*") if f.is_file())
                / 1e6
            ),  # type: ignore[arg-type]
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _spawn(size: int, store: Path, ocr_docs: int = 0) -> dict[str, object]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.bench.bench_ingest",
            "--size",
            str(size),
            "--store",
            str(store),
            "--ocr-docs",
            str(ocr_docs),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(quick: bool = False) -> str:
    work = Path(tempfile.mkdtemp(prefix="kho-bench-"))
    try:
        store = harvested_store(work)
        sizes = [1000] if quick else [10_000, 100_000]
        results = [_spawn(n, store) for n in sizes]
        scans = _spawn(0, store, ocr_docs=4 if quick else 24)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    lines = [
        "## Ingest rate",
        "",
        "`kho ingest` in one process on a copy of the harvested store (1.85 M triples), SHACL gate "
        "on, records = hồ sơ + documents. Metadata-only batches: a TT 05/2025 sheet of generated "
        "documents (real Hanoi agencies, before and after the mergers), no PDFs. Peak memory is "
        "the child process's maximum RSS.",
        "",
        "| records | seconds | records/s | rejected | peak RSS | store on disk "
        "| sheets | rdf | shacl | commit | index |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        t = r["timings"]
        lines.append(
            f"| {r['records']:,} | {r['seconds']} | **{r['rate']:,}** | {r['rejected']} | "
            f"{r['peak_mb']:,} MB | {r['store_mb']:,} MB | "
            + " | ".join(str(t.get(k, 0)) for k in ("sheets", "rdf", "shacl", "commit", "index"))
            + " |"
        )
    t = scans["timings"]
    lines += [
        "",
        f"With OCR: {scans['records']} records from scanned PDFs ({scans['ocr_pages']} pages, "
        f"200 dpi, 2 jobs) in {scans['seconds']} s — **{scans['rate']} records/s**, "
        f"{round(scans['ocr_pages'] / max(t.get('text+ocr', 1), 0.01) * 60, 1)} pages/min in the "
        f"OCR stage (text+ocr {t.get('text+ocr')} s of {scans['seconds']} s); peak RSS "
        f"{scans['peak_mb']} MB.",
    ]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--size", type=int, required=True)
    p.add_argument("--store", required=True)
    p.add_argument("--ocr-docs", type=int, default=0)
    a = p.parse_args()
    print(json.dumps(child(a.size, Path(a.store), a.ocr_docs)))


if __name__ == "__main__":
    main()
