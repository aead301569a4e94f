"""Field extraction accuracy on generated specimens: born-digital vs scanned, per field and block.

The corpus comes from `harvesters.specimens` (real Hanoi agencies of all three blocks, before and
after 2025-07-01; scans at 200/300 dpi with skew, noise, blur, a red seal and a blue signature).
Issuers are resolved against a harvested store: KHO_TEST_DATA_DIR, else the configured data dir;
without one, admin_unit is left out of the score.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from harvesters.specimens import random_specs, render_pdf, render_scan
from repository.config import Settings
from repository.extraction import extract_pdf
from repository.store import Store, open_store

FIELDS = [
    "document_type",
    "number_symbol",
    "issued_on",
    "issuer",
    "block",
    "subject",
    "signer",
    "signer_title",
    "admin_unit",
    "registry_refs",
]


def _store() -> Store | None:
    data = os.environ.get("KHO_TEST_DATA_DIR")
    path = Path(data) / "store" if data else Path(Settings.from_env().store_path)  # type: ignore[arg-type]
    return open_store(path) if path.exists() else None


def run(quick: bool = False) -> str:
    n_scan, n_born = (10, 5) if quick else (60, 30)
    store = _store()
    fields = FIELDS if store else [f for f in FIELDS if f != "admin_unit"]
    rng = random.Random(2026)
    specs = random_specs(rng, n_scan + n_born)
    right: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    count: dict[tuple[str, str], int] = defaultdict(int)
    seconds: dict[str, float] = defaultdict(float)
    pages: dict[str, int] = defaultdict(int)
    misses: list[str] = []
    if store is not None:
        from repository.resolve import candidates

        candidates(store)  # the one-off load is not per-document time
    with tempfile.TemporaryDirectory() as tmp:
        for i, spec in enumerate(specs):
            kind = "scanned" if i < n_scan else "born-digital"
            pdf = Path(tmp) / f"{i}.pdf"
            if kind == "scanned":
                render_scan(spec, pdf, dpi=(200, 300)[i % 2], rng=rng)
            else:
                render_pdf(spec, pdf)
            start = time.perf_counter()
            got = extract_pdf(pdf, store).to_json()
            seconds[kind] += time.perf_counter() - start
            pages[kind] += int(got["pages"])  # type: ignore[call-overload]
            truth = spec.truth()
            for group in ((kind, "all"), (kind, spec.block), ("all", "all")):
                count[group] += 1
                for f in fields:
                    right[group][f] += got[f] == truth[f]
            misses += [
                f"{kind} {spec.number_symbol} `{f}`: {got[f]!r} ≠ {truth[f]!r}"
                for f in fields
                if got[f] != truth[f]
            ]
    return _report(fields, right, count, seconds, pages, misses, store is not None, quick)


def _pct(a: int, b: int) -> str:
    return f"{100 * a / b:.1f} %" if b else "–"


def _report(
    fields: list[str],
    right: dict[tuple[str, str], dict[str, int]],
    count: dict[tuple[str, str], int],
    seconds: dict[str, float],
    pages: dict[str, int],
    misses: list[str],
    with_store: bool,
    quick: bool,
) -> str:
    groups = [g for g in sorted(count) if g != ("all", "all")] + [("all", "all")]
    head = "| field | " + " | ".join(f"{k} / {b} (n={count[(k, b)]})" for k, b in groups) + " |"
    lines = [
        "## Field extraction (`kho extract`)",
        "",
        f"Generated specimens ({count[('scanned', 'all')]} scanned at 200/300 dpi, "
        f"{count[('born-digital', 'all')]} born-digital; {'quick sizes' if quick else 'full'}), "
        f"exact match per field{'' if with_store else '; no store, so admin_unit is not scored'}.",
        "",
        head,
        "|" + "---|" * (len(groups) + 1),
    ]
    for f in fields:
        cells = [_pct(right[g][f], count[g]) for g in groups]
        lines.append(f"| {f} | " + " | ".join(cells) + " |")
    overall = [_pct(sum(right[g].values()), count[g] * len(fields)) for g in groups]
    lines.append("| **all fields** | " + " | ".join(f"**{c}**" for c in overall) + " |")
    lines += ["", "Seconds per page (text layer or OCR, then extraction):", ""]
    for kind in ("born-digital", "scanned"):
        if pages[kind]:
            lines.append(f"- {kind}: {seconds[kind] / pages[kind]:.2f} s")
    if misses:
        lines += ["", f"Misses ({len(misses)}):", ""] + [f"- {m}" for m in misses[:40]]
    return "\n".join(lines)
