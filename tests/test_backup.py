"""`kho backup` (full, then incremental) and `kho restore` into an empty data directory: the
restored repository is the same — the same quads, the same files, the same users and keys, the
same search results — and `kho check` finds it whole. A damaged or incomplete backup is refused
before anything is written."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from repository import record_index
from repository.config import Settings
from repository.store import open_store, open_store_read_only
from tests.conftest import TODAY

KHO = Path(sys.executable).with_name("kho")
QUERIES = ["", "quyết định", "ubnd", "hoan kiem", "báo cáo", "nghị quyết 2019"]
LEVELS = [{"01"}, {"01", "02"}, {"01", "02", "03"}]


def kho(data: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "KHO_DATA_DIR": str(data), "KHO_TODAY": TODAY}
    return subprocess.run([str(KHO), *args], env=env, capture_output=True, text=True, timeout=900)


def _copy_repository(demo: Settings, target: Path) -> Path:
    """A data directory of its own: the demo's store (a checkpoint), files, keys, users."""
    target.mkdir(parents=True)
    open_store(demo).backup(target / "store")
    data = Path(demo.data_dir)
    for name in ("files", "index", "records-index"):
        shutil.copytree(data / name, target / name)
    for name in ("secret-key", "pseudonym-key", "users.sqlite3", "registry-cache.sqlite3"):
        if (data / name).exists():
            shutil.copy2(data / name, target / name)
    own = Settings(data_dir=target, today=TODAY)
    own.session_key(), own.pseudonym_secret()  # both keys exist (made on first use otherwise)
    return target


def _quads(data: Path) -> list[str]:
    out = data.parent / f"{data.name}.nq"
    open_store_read_only(data / "store").dump(out)
    return sorted(out.read_text(encoding="utf-8").splitlines())


def _files(data: Path) -> dict[str, str]:
    root = data / "files"
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }


def _users(data: Path) -> list[tuple]:
    with sqlite3.connect(data / "users.sqlite3") as db:
        return db.execute("SELECT * FROM users ORDER BY 1").fetchall()


def _searches(data: Path) -> list[object]:
    """What each search finds: the total, the facet counts and every hit (with its fields). Not
    the order of equal-scored hits' scores: a rebuilt index has no deleted documents, which
    weigh in the original's term statistics."""
    settings = Settings(data_dir=data, today=TODAY)
    found = []
    for q in QUERIES:
        for levels in LEVELS:
            got = record_index.search(settings, q, access=levels, per_page=500).to_json()
            hits = sorted(
                ({k: v for k, v in h.items() if k != "score"} for h in got["hits"]),  # type: ignore[union-attr]
                key=lambda h: str(h["iri"]),
            )
            found.append((q, sorted(levels), got["total"], got["facets"], hits))
    return found


@pytest.fixture(scope="module")
def chain(demo_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from harvesters.demo_batch import write_demo

    root = tmp_path_factory.mktemp("backup")
    source = _copy_repository(demo_settings, root / "source")
    dest = root / "backups"
    done = kho(source, "backup", str(dest), "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    full = json.loads(done.stdout)
    assert full["kind"] == "full" and full["quads"] > 1_000_000
    # Work after the full backup: an archivist's decision and a new batch (records and files).
    flags = kho(source, "flags", "list", "--json")
    flag = json.loads(flags.stdout)[0]["flag"]
    assert kho(source, "flags", "confirm", flag, "--by", "archivist").returncode == 0
    batches = write_demo(root / "new", documents=3, seed=99, scanned_ratio=0.0)
    ingested = kho(source, "ingest", *map(str, batches), "--no-ocr")
    assert ingested.returncode in (0, 3), ingested.stderr[-3000:]
    done = kho(source, "backup", str(dest), "--incremental", "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    incr = json.loads(done.stdout)
    assert incr["kind"] == "incremental" and incr["parent"] == full["set"]
    assert 0 < incr["added"] < 5_000 and incr["removed"] > 0  # the decision replaced a status
    assert 0 < incr["files_copied"] < full["files_copied"]
    restored = root / "restored"
    done = kho(restored, "restore", str(dest))
    assert done.returncode == 0, done.stderr[-3000:]
    return {"source": source, "dest": dest, "restored": restored, "root": root}


def test_the_restored_repository_is_the_same(chain: dict[str, Path]) -> None:
    source, restored = chain["source"], chain["restored"]
    assert _quads(restored) == _quads(source)
    assert _files(restored) == _files(source)
    assert _users(restored) == _users(source)
    for key in ("secret-key", "pseudonym-key"):
        assert (restored / key).read_text() == (source / key).read_text()
    assert _searches(restored) == _searches(source)


def test_kho_check_finds_the_restored_repository_whole(chain: dict[str, Path]) -> None:
    done = kho(chain["restored"], "check", "--json")
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["errors"] == 0, report["findings"][:5]
    assert report["records"] == report["indexed"] > 0


def test_the_sets_check_themselves(chain: dict[str, Path]) -> None:
    done = kho(chain["restored"], "restore", str(chain["dest"]), "--verify-only")
    assert done.returncode == 0 and "backup intact" in done.stdout
    for folder in chain["dest"].glob("kho-*"):  # sha256sum -c checks a set without Kho
        sums = subprocess.run(
            ["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=folder, capture_output=True
        )
        assert sums.returncode == 0, sums.stdout


def test_a_damaged_set_is_refused_before_anything_is_written(chain: dict[str, Path]) -> None:
    broken = chain["root"] / "broken"
    shutil.copytree(chain["dest"], broken)
    full = sorted(broken.glob("kho-*-full"))[0]
    data = bytearray((full / "store.nq.gz").read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit, as a failing disk would
    (full / "store.nq.gz").write_bytes(bytes(data))
    target = chain["root"] / "target"
    done = kho(target, "restore", str(broken))
    assert done.returncode == 1
    assert "store.nq.gz is damaged" in done.stderr and "other backup copy" in done.stderr
    assert not target.exists()
    missing = chain["root"] / "missing"
    shutil.copytree(chain["dest"], missing)
    shutil.rmtree(sorted(missing.glob("kho-*-full"))[0])
    done = kho(target, "restore", str(missing))
    assert done.returncode == 1 and "copy the whole chain" in done.stderr


def test_restore_refuses_a_data_directory_in_use(chain: dict[str, Path]) -> None:
    done = kho(chain["source"], "restore", str(chain["dest"]))
    assert done.returncode == 1 and "is not empty" in done.stderr
