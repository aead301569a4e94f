"""The `kho` command, run in-process against the session's harvested store."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from repository.cli import main
from repository.config import PROJECT_DIR, Settings, settings_table


@pytest.fixture
def env(harvested_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("KHO_DATA_DIR", str(harvested_settings.data_dir))
    monkeypatch.setenv("KHO_TODAY", "2026-11-26")
    return harvested_settings


def test_lineage_json(env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lineage", "00004", "00016", "--on", "2025-06-30", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["query"] for r in out] == ["00004", "00016"]
    first = out[0]
    assert set(first) >= {"query", "unit", "predecessors", "successors", "current"}
    assert set(first["unit"]) == {"iri", "code", "name", "level", "valid_from", "valid_to"}
    assert first["unit"]["name"] == "Phường Trúc Bạch"
    assert first["successors"][0]["portion"] == "whole"
    assert first["successors"][0]["default"] is True


def test_lineage_readable(env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lineage", "00004"]) == 0
    out = capsys.readouterr().out
    assert "Phường Ba Đình" in out and "Phường Trúc Bạch" in out and "toàn bộ/whole" in out


def test_lineage_unknown_code_exits_1(env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lineage", "99999", "--json"]) == 1
    assert "No unit has ever borne code 99999" in capsys.readouterr().err


def test_lineage_bad_date_is_usage_error(env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["lineage", "00004", "--on", "31/02/2025"])
    assert exit_.value.code == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err


def test_sparql_formats(env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    query = "SELECT ?n WHERE { ?u skos:notation ?n ; kho:level khoc:level-province } LIMIT 3"
    assert main(["sparql", query, "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["results"]["bindings"]) == 3
    assert main(["sparql", query, "--format", "csv"]) == 0
    assert len(list(csv.reader(io.StringIO(capsys.readouterr().out)))) == 4
    assert main(["sparql", query]) == 0
    assert "(3 rows)" in capsys.readouterr().out


def test_sparql_refuses_updates(env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sparql", "DELETE WHERE { ?s ?p ?o }"]) == 1
    assert "read-only" in capsys.readouterr().err


def test_readme_starts_with_the_two_commands_and_lists_every_setting() -> None:
    readme = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    first_block = re.search(r"```sh\n(.*?)```", readme, re.S)
    assert first_block is not None
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines()]
    assert commands == ["make run", "make test"]
    for name, _default, _help in settings_table():
        assert f"`{name}`" in readme, name
    assert "make test" in Path(PROJECT_DIR / ".ci" / "run").read_text()


def test_ingest_and_reindex_yield_the_cores_to_readers(tmp_path: Path) -> None:
    # os.nice only goes down for an ordinary user: the rule runs in a process of its own.
    import subprocess
    import sys

    code = (
        "import os; from repository.cli import in_background; from repository.config import "
        "Settings; s = Settings(data_dir='{d}', background_nice={n}); before = os.nice(0); "
        "print(in_background(s) - before)"
    )
    for asked, lowered in ((10, 10), (0, 0), (40, 19)):
        out = subprocess.run(
            [sys.executable, "-c", code.format(d=tmp_path, n=asked)],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            check=True,
        )
        assert int(out.stdout) == lowered
