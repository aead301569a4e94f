"""`make bench`: run every benchmark in tests/bench/bench_*.py and write docs/benchmarks.md.

Each module has `run(quick: bool) -> str`, returning one Markdown section with its figures beside
their baselines, measured in the same run. `--quick` shrinks the sizes (for a smoke run).
"""

from __future__ import annotations

import argparse
import importlib
import platform
import re
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
    sections: dict[str, str] = {}
    for name in names:
        start = time.perf_counter()
        print(f"== {name}", file=sys.stderr, flush=True)
        module = importlib.import_module(f"tests.bench.{name}")
        try:
            sections[name] = module.run(quick=args.quick).strip()
        except Exception as exc:  # one broken benchmark must not lose the others' figures
            sections[name] = f"## {name}\n\nFailed in this run: {type(exc).__name__}: {exc}"
        print(f"   {name}: {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
        _write(Path(args.out), sections, args.quick, merge=bool(args.only))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


MARK = "<!-- bench: {} -->"
_MARK = re.compile(r"^<!-- bench: (\w+) -->$", re.M)


def _write(out: Path, sections: dict[str, str], quick: bool, merge: bool = False) -> None:
    """Write what has been measured so far (after every benchmark). With `merge` (an --only run)
    the other benchmarks' sections already in `out` are kept, each under its marker."""
    head = (
        "# Benchmarks\n\n"
        f"Written by `make bench` on {time.strftime('%Y-%m-%d %H:%M')} "
        f"({platform.machine()}, {_cores()} cores, Python {platform.python_version()}"
        f"{', quick sizes' if quick else ''}). Every figure is measured in the same run "
        "as its baseline; the machine is shared, so read ratios rather than absolute times.\n"
    )
    kept: dict[str, str] = {}
    if merge and out.exists():
        text = out.read_text(encoding="utf-8")
        parts = _MARK.split(text)
        head = parts[0].rstrip() + "\n"
        kept = {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
    kept.update(sections)
    body = "\n\n".join(f"{MARK.format(name)}\n{text}" for name, text in sorted(kept.items()))
    out.write_text(head + "\n" + body + "\n", encoding="utf-8")


def _cores() -> int:
    import os

    return os.cpu_count() or 1


if __name__ == "__main__":
    sys.exit(main())
