"""`make bench`: run every benchmark in tests/bench/bench_*.py and write docs/benchmarks.md.

Each module has `run(quick: bool) -> str`, returning one Markdown section with its figures beside
their baselines, measured in the same run. `--quick` shrinks the sizes (for a smoke run).
"""

from __future__ import annotations

import argparse
import importlib
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    p.add_argument("--only", nargs="*", help="module names (e.g. bench_ocr) to run")
    p.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    args = p.parse_args(argv)
    names = sorted(m.stem for m in Path(__file__).parent.glob("bench_*.py"))
    if args.only:
        names = [n for n in names if n in args.only]
    sections: list[str] = []
    for name in names:
        start = time.perf_counter()
        print(f"== {name}", file=sys.stderr, flush=True)
        module = importlib.import_module(f"tests.bench.{name}")
        try:
            sections.append(module.run(quick=args.quick).strip())
        except Exception as exc:  # one broken benchmark must not lose the others' figures
            sections.append(f"## {name}\n\nFailed in this run: {type(exc).__name__}: {exc}")
        print(f"   {name}: {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
        _write(Path(args.out), sections, args.quick)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def _write(out: Path, sections: list[str], quick: bool) -> None:
    """Write what has been measured so far (after every benchmark)."""
    head = (
        "# Benchmarks\n\n"
        f"Written by `make bench` on {time.strftime('%Y-%m-%d %H:%M')} "
        f"({platform.machine()}, {_cores()} cores, Python {platform.python_version()}"
        f"{', quick sizes' if quick else ''}). Every figure is measured in the same run "
        "as its baseline; the machine is shared, so read ratios rather than absolute times.\n"
    )
    out.write_text(head + "\n" + "\n\n".join(sections) + "\n", encoding="utf-8")


def _cores() -> int:
    import os

    return os.cpu_count() or 1


if __name__ == "__main__":
    sys.exit(main())
