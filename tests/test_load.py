"""The load test's harness (tests/bench/bench_load.py) stays working: a few seconds of concurrent
sessions, anonymous and signed in, against `kho serve` (waitress) in a subprocess over a copy of
the demo repository, the clients in a process of their own. No timings are asserted."""

from __future__ import annotations

from pathlib import Path

from tests.bench.bench_load import load, serving
from tests.bench.load_report import summarise
from tests.conftest import PASSWORD


def test_load_harness_counts_every_kind_without_errors(served_copy: Path) -> None:
    with serving(served_copy) as (url, pid):
        result = load(url, 4, 3, 1, ["researcher"], {"server": pid}, password=PASSWORD)
    figures = summarise(result)
    assert result["signed_in"] == 2 and result["clients"] == 4
    # what the sessions ask for was found on the server: a researcher sees more than the public
    assert result["targets"]["public"] > 0 and result["targets"]["restricted"] > 0
    assert result["targets"]["units"] > 0 and result["targets"]["queries"] > 0
    assert figures["all"].n > 20 and figures["pages"].n > 0
    assert len(figures) > 8  # most kinds of the mix came up in 3 seconds
    failed = [r for r in result["requests"] if r[1] != 200]
    assert figures["all"].errors == 0, failed[:5]
    assert result["cpu_s"]["server"] > 0  # the server's CPU over the window was read


def test_errors_are_what_a_reader_would_call_errors() -> None:
    """2xx and redirects pass; a 5xx, a connection error or timeout (0) and a page that came
    where a 404 was due (the client marks it 299) are errors; percentiles by rank."""
    rows = [["home", s, float(ms), 0.0] for ms, s in enumerate([200, 302, 299, 0, 500, 200], 1)]
    got = summarise({"requests": rows, "seconds": 2.0})
    assert got["all"].n == 6 and got["all"].errors == 3 and got["all"].rate == 3.0
    assert got["pages"].n == 6 and (got["all"].p50, got["all"].p99) == (3.0, 6.0)
