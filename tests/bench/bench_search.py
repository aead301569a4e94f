"""Search at scale (issue 6): the records index on Whoosh (the default, the baseline here) and on
tantivy, side by side, over N generated Vietnamese record documents (the dict shape
repository.record_documents yields: titles, issuers, units, number symbols, OCR-like text, facets,
registry links), built and searched through repository.record_index.

Each engine runs in a process of its own (its peak memory is its own): it indexes the documents,
then runs a fixed set of queries as the web app does (facet counts, access filter, a page of 20),
several times each; p50/p95 per query, each timing counting afresh (the kept counts forgotten).
Past 100k hits tantivy counts on a 1/16 sample of the index (repository.search_counts): the
tables say which queries were counted so, and the long mode times each query also with every
hit counted (exact=1, the behaviour before sampling) and its next page (the counts kept).
`python -m tests.bench.bench_search --size 1000000` runs the long mode (1M documents, tantivy
only) and prints its section.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from repository.search_counts import sample_of

SIZES = {False: (10_000, 100_000), True: (2_000,)}
QUERIES = (  # (label, q, filters, access, page)
    ("one word", "quyết", {}, None, 1),
    ("two words, no accents", "dat dai", {}, None, 1),
    ("number/symbol", "125/QĐ-UBND", {}, None, 1),
    ("unit name + facet filter", "hoàn kiếm", {"kind": "record"}, None, 1),
    ("access-filtered, facets", "ủy ban", {}, {"01"}, 1),
    ("page 5", "xã", {}, {"01", "02"}, 5),
)
_WORDS = (
    "ủy ban nhân dân quyết định về việc phê duyệt kế hoạch đất đai xây dựng giải phóng mặt bằng "
    "thu hồi giao đất cấp giấy chứng nhận quyền sử dụng hộ gia đình cá nhân tổ chức công trình "
    "đường giao thông trường học trạm y tế nhà văn hóa báo cáo tình hình kinh tế xã hội an ninh "
    "quốc phòng dân số lao động việc làm thương binh liệt sĩ người có công chính sách bảo trợ "
    "hành chính cải cách thủ tục hồ sơ lưu trữ văn thư tài chính ngân sách thuế phí lệ phí "
    "công văn tờ trình thông báo kết luận biên bản họp hội đồng thi đua khen thưởng kỷ luật "
    "cán bộ công chức viên chức tuyển dụng bổ nhiệm điều động môi trường nước sạch vệ sinh "
    "nông nghiệp thủy lợi đê điều phòng chống thiên tai bão lũ giáo dục y tế văn hóa thể thao"
).split()
_UNITS = (
    "Hoàn Kiếm Ba Đình Đống Đa Hai Bà Trưng Tây Hồ Cầu Giấy Thanh Xuân Hoàng Mai Long Biên "
    "Hà Đông Sơn Tây Ba Vì Phúc Thọ Đan Phượng Hoài Đức Quốc Oai Thạch Thất Chương Mỹ Thanh Oai "
    "Thường Tín Phú Xuyên Ứng Hòa Mỹ Đức Sóc Sơn Đông Anh Gia Lâm Mê Linh Trúc Bạch Yên Phụ "
    "Thụy Khuê Bưởi Nghĩa Đô Dịch Vọng Trung Hòa Yên Hòa Kim Mã Giảng Võ Ngọc Hà Liễu Giai"
).split()
_DOCTYPES = ("QĐ", "CV", "TTr", "TB", "BC", "KH", "BB")


def documents(n: int, seed: int = 2026) -> Iterator[dict[str, object]]:
    """n record documents, as record_documents yields them (no PDF: no snippets)."""
    rnd = random.Random(seed)
    units = [f"{a} {b}" for a, b in zip(_UNITS[::2], _UNITS[1::2], strict=False)]
    unit_iris = [f"https://kho.example.org/id/unit/u{i:05d}" for i in range(600)]
    for i in range(n):
        u = rnd.randrange(600)
        now = sorted({u, rnd.randrange(600)})
        name = units[u % len(units)]
        kind = "hoso" if i % 10 == 0 else "record"
        dt = rnd.choice(_DOCTYPES)
        number = f"{rnd.randint(1, 999)}/{dt}-UBND"
        words = rnd.choices(_WORDS, k=rnd.randint(60, 160))
        title = " ".join(rnd.choices(_WORDS, k=rnd.randint(6, 14)))
        linked = i % 7 == 0
        key = f"01{rnd.randint(0, 99_999_999):08d}"
        iri = f"https://kho.example.org/id/record/r{i:07d}"
        yield {
            "iri": iri,
            "sample": sample_of(iri),
            "kind": kind,
            "code": f"HN-{i:07d}",
            "title": f"{title.capitalize()} tại phường {name}",
            "number_symbol": number if kind == "record" else "",
            "issuer": f"Ủy ban nhân dân phường {name}",
            "signer": f"Nguyễn Văn {rnd.choice(_UNITS)}",
            "unit_names": f"Phường {name} ; Phường {units[now[-1] % len(units)]}",
            "text": " ".join(words),
            "block": rnd.choice(("chinh-quyen", "dang", "doan-the")),
            "level": rnd.choice(("commune", "district", "province")),
            "doctype": dt,
            "year": str(rnd.randint(1990, 2026)),
            "unit": ",".join(unit_iris[v] for v in [u, *(x for x in now if x != u)]),
            "agency": f"https://kho.example.org/id/agency/ubnd/a{u:05d}",
            "access": rnd.choices(("01", "02", "03"), weights=(8, 1, 1))[0],
            "hoso": f"https://kho.example.org/id/hoso/h{i // 10:06d}",
            "issued": f"{rnd.randint(1990, 2026)}-0{rnd.randint(1, 9)}-1{rnd.randint(0, 9)}",
            "priority": str(rnd.randint(1, 5)),
            "holder": f"https://kho.example.org/id/agency/ltls/a{u % 30:03d}",
            "fonds": f"https://kho.example.org/id/fonds/f{u % 50:03d}",
            "unit_now": ",".join(unit_iris[v] for v in now),
            "unit_default": unit_iris[now[0]],
            "pages": rnd.randint(1, 20),
            "sha": "",
            "links": f"Công ty Cổ phần {name} ; Chủ tịch" if linked else "",
            "link_keys": key if linked else "",
            "registry": "enterprise" if linked else "",
            "link_labels": [f"Công ty Cổ phần {name} ({key})"] if linked else [],
        }


def child(engine: str, n: int, data_dir: str, repeats: int) -> dict[str, object]:
    """Index n documents with `engine`, then time the queries; run in a process of its own."""
    from repository import record_index
    from repository.config import Settings
    from repository.search_counts import forget
    from repository.search_text import mark, write_beside

    settings = Settings(data_dir=Path(data_dir), search=engine)
    path = record_index.index_path(settings)
    start = time.perf_counter()
    if engine == "tantivy":
        from repository.records_tantivy import layout
        from repository.search_tantivy import build

        write_beside(path, lambda p: build(p, layout(), documents(n), record_index.FORMAT))
    else:
        from repository.search_index import write_index

        write_index(path, record_index.schema(), documents(n))
        mark(path, "whoosh", "")
    indexing = time.perf_counter() - start
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    times: dict[str, list[float]] = {}
    totals: dict[str, int] = {}
    approximate: dict[str, bool] = {}
    exact: dict[str, list[float]] = {}  # tantivy: every hit counted (the behaviour before sampling)
    exact_totals: dict[str, int] = {}
    kept: dict[str, list[float]] = {}  # tantivy: the next page, its counts kept from this one

    def timed(bucket: dict[str, list[float]], label: str, **kwargs: object) -> object:
        t0 = time.perf_counter()
        res = record_index.search(settings, **kwargs)  # type: ignore[arg-type]
        bucket.setdefault(label, []).append(time.perf_counter() - t0)
        return res

    for _ in range(repeats):
        for label, q, filters, access, page in QUERIES:
            ask = {"q": q, "filters": filters, "access": access, "page": page}
            forget()  # every timing counts afresh, unless it measures the kept counts
            res = timed(times, label, **ask)
            totals[label], approximate[label] = res.total, res.approximate  # type: ignore[attr-defined]
            if engine == "tantivy":
                timed(kept, label, **{**ask, "page": page + 1})
                forget()
                exact_totals[label] = timed(exact, label, **ask, exact=True).total  # type: ignore[attr-defined]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "indexing": indexing,
        "size": size,
        "peak": peak,
        "times": times,
        "totals": totals,
        "approximate": approximate,
        "exact": exact,
        "exact_totals": exact_totals,
        "kept": kept,
    }


def _run_child(engine: str, n: int, repeats: int) -> dict[str, object]:
    tmp = tempfile.mkdtemp(prefix=f"kho-bench-search-{engine}-")
    try:
        out = subprocess.run(
            [sys.executable, "-m", "tests.bench.bench_search", "--child", engine,
             "--size", str(n), "--dir", tmp, "--repeats", str(repeats)],
            check=True, capture_output=True, text=True,
            cwd=Path(__file__).resolve().parents[2],
        )  # fmt: skip
        return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _ms(values: list[float]) -> str:
    return f"{_pct(values, 0.5) * 1e3:.1f} / {_pct(values, 0.95) * 1e3:.1f}"


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]


def section(n: int, repeats: int, whoosh: bool = True) -> str:
    t0 = time.perf_counter()
    for _ in documents(n):
        pass
    gen = time.perf_counter() - t0
    if not whoosh or n > 100_000:  # Whoosh would index 1M documents for hours
        return _tantivy_only(n, repeats, gen)
    w = _run_child("whoosh", n, repeats)
    t = _run_child("tantivy", n, repeats)
    lines = [
        f"### {n:,} documents",
        "",
        "| | Whoosh (baseline) | tantivy | tantivy vs Whoosh |",
        "|---|---:|---:|---:|",
    ]
    wi, ti = float(w["indexing"]), float(t["indexing"])  # type: ignore[arg-type]
    lines.append(
        f"| indexing (s, incl. {gen:.1f} s generating the documents) | {wi:.1f} | {ti:.1f} "
        f"| {wi / ti:.1f}× faster |"
    )
    lines.append(f"| docs/s | {n / wi:,.0f} | {n / ti:,.0f} | {wi / ti:.1f}× |")
    ws, ts = int(w["size"]), int(t["size"])  # type: ignore[call-overload]
    lines.append(f"| index size (MB) | {ws / 1e6:.0f} | {ts / 1e6:.0f} | {ts / ws:.2f}× |")
    wp, tp = int(w["peak"]), int(t["peak"])  # type: ignore[call-overload]
    lines.append(
        f"| peak memory (MB, the process) | {wp / 1e6:.0f} | {tp / 1e6:.0f} | {tp / wp:.2f}× |"
    )
    for label, *_ in QUERIES:
        wt, tt = w["times"][label], t["times"][label]  # type: ignore[index]
        w50, w95, t50, t95 = (_pct(wt, 0.5), _pct(wt, 0.95), _pct(tt, 0.5), _pct(tt, 0.95))
        same = "" if w["totals"][label] == t["totals"][label] else " **totals differ**"  # type: ignore[index]
        if t["approximate"][label]:  # type: ignore[index]
            same = f", tantivy ≈ {t['totals'][label]:,}"  # type: ignore[index]
        lines.append(
            f"| {label} ({w['totals'][label]:,} hits{same}): p50 / p95 ms "  # type: ignore[index]
            f"| {w50 * 1e3:.0f} / {w95 * 1e3:.0f} | {t50 * 1e3:.1f} / {t95 * 1e3:.1f} "
            f"| {w50 / t50:.0f}× / {w95 / t95:.0f}× faster |"
        )
    return "\n".join(lines)


def _tantivy_only(n: int, repeats: int, gen: float) -> str:
    """The long mode: Whoosh would index 1M documents for hours, so tantivy runs alone."""
    t = _run_child("tantivy", n, repeats)
    ti = float(t["indexing"])  # type: ignore[arg-type]
    lines = [
        f"### {n:,} documents (tantivy only: Whoosh not run at this size)",
        "",
        "| | tantivy |",
        "|---|---:|",
        f"| indexing (s, incl. {gen:.1f} s generating the documents) | {ti:.1f} |",
        f"| docs/s | {n / ti:,.0f} |",
        f"| index size (MB) | {int(t['size']) / 1e6:.0f} |",  # type: ignore[call-overload]
        f"| peak memory (MB, the process) | {int(t['peak']) / 1e6:.0f} |",  # type: ignore[call-overload]
    ]
    lines += [
        "",
        "| query (hits) | counts | p50 / p95 ms | every hit counted (exact=1): p50 / p95 ms "
        "| next page, counts kept: p50 / p95 ms |",
        "|---|---|---:|---:|---:|",
    ]
    for label, *_ in QUERIES:
        tt, te, tk = (t[k][label] for k in ("times", "exact", "kept"))  # type: ignore[index]
        approx = bool(t["approximate"][label])  # type: ignore[index]
        counted = f"≈ {t['totals'][label]:,} (sampled)" if approx else "exact"  # type: ignore[index]
        lines.append(
            f"| {label} ({t['exact_totals'][label]:,}) | {counted} "  # type: ignore[index]
            f"| {_ms(tt)} | {_ms(te)} | {_ms(tk)} |"
        )
    return "\n".join(lines)


def run(quick: bool = False, sizes: tuple[int, ...] | None = None, whoosh: bool = True) -> str:
    sizes = sizes or SIZES[quick]
    parts = [
        "## bench_search — records search, Whoosh and tantivy",
        "",
        "Generated Vietnamese record documents (tests/bench/bench_search.py: titles, issuers, "
        "units, number symbols, 60–160 words of text, facets, a registry link on one in seven) "
        "indexed through repository.record_index with each engine, each engine in a process of "
        "its own. Queries as the web app asks them: every facet counted, 20 hits a page; "
        f"{', '.join(q[0] for q in QUERIES)}. Whoosh is the baseline; same hit totals on both. "
        "Each timing counts afresh; past 100k hits tantivy counts the total and the facets on a "
        "1/16 sample of the index (≈, repository.search_counts).",
    ]
    for n in sizes:
        repeats = 10 if 10_000 < n <= 100_000 else 20  # 1M: built once, its queries are cheap
        parts += ["", section(n, repeats, whoosh=whoosh)]
    return "\n".join(parts)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--size", type=int, default=0, help="documents (e.g. 1000000: the long mode)")
    p.add_argument("--child", choices=("whoosh", "tantivy"))
    p.add_argument("--dir")
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--no-whoosh", action="store_true", help="tantivy only (the 1M long mode)")
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.size, args.dir, args.repeats)))
        return 0
    print(run(sizes=(args.size,) if args.size else None, whoosh=not args.no_whoosh))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
