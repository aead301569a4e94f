"""Content-addressed files, fixity and PREMIS-style events, against a real store and real files."""

from __future__ import annotations

import hashlib
import json
import os
import unicodedata
from datetime import datetime
from pathlib import Path

import pyoxigraph as ox
import pytest

from repository.cli import main
from repository.config import Settings
from repository.files import BadChecksum, FileStore, SourceUnreadable
from repository.namespaces import Minter
from repository.preservation import (
    VN_TZ,
    event_triples,
    instantiation_triples,
    run_fixity,
)
from repository.store import Store, open_store

M = Minter("https://kho.example.org/")
REC_A = M.record("H01.151.2021.01.TH.0000001")
REC_B = M.record("H01.151.2021.01.TH.0000002")
PUBLIC = M.records_graph("public")
SECRET = M.records_graph("secret")
AT = datetime(2026, 11, 26, 9, 15, tzinfo=VN_TZ)
PDF_A = b"%PDF-1.4\n% Quyet dinh 1624/QD-UBND\n" + bytes(range(256)) * 50
PDF_B = b"%PDF-1.4\n% Bao cao tong ket nam 2021\n" + bytes(range(255, -1, -1)) * 40


def _flip_byte(path: Path, at: int = 20) -> None:
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def test_put_stores_by_sha256_in_two_level_folders(tmp_path: Path) -> None:
    src = tmp_path / "0000001.pdf"
    src.write_bytes(PDF_A)
    files = FileStore(tmp_path / "files")
    stored = files.put(src)
    hex_ = hashlib.sha256(PDF_A).hexdigest()
    assert stored.sha256 == hex_.upper() and stored.size == len(PDF_A) and stored.new
    assert stored.path == tmp_path / "files" / "sha256" / hex_[:2] / hex_[2:4] / f"{hex_}.pdf"
    assert stored.path.read_bytes() == PDF_A
    assert files.exists(hex_.upper()) and files.exists(hex_)
    # no temporary file is left beside it
    assert [p.name for p in stored.path.parent.iterdir()] == [f"{hex_}.pdf"]


def test_put_is_idempotent_and_keeps_a_good_copy(tmp_path: Path) -> None:
    src = tmp_path / "a.pdf"
    src.write_bytes(PDF_A)
    files = FileStore(tmp_path / "files")
    first = files.put(src)
    mtime = first.path.stat().st_mtime_ns
    again = files.put(src)
    assert again.sha256 == first.sha256 and not again.new
    assert first.path.stat().st_mtime_ns == mtime  # not rewritten
    assert files.put_bytes(PDF_A) == again
    assert len(list(files.iter_files())) == 1


def test_put_repairs_a_damaged_copy(tmp_path: Path) -> None:
    files = FileStore(tmp_path / "files")
    stored = files.put_bytes(PDF_A)
    _flip_byte(stored.path)
    assert not files.verify(stored.sha256).ok
    repaired = files.put_bytes(PDF_A)
    assert repaired.new and files.verify(stored.sha256).ok


def test_verify_detects_a_flipped_byte_and_a_missing_file(tmp_path: Path) -> None:
    files = FileStore(tmp_path / "files")
    a, b = files.put_bytes(PDF_A), files.put_bytes(PDF_B)
    assert files.verify(a.sha256).status == "ok"
    _flip_byte(a.path)
    bad = files.verify(a.sha256)
    assert bad.status == "mismatch" and bad.actual and bad.actual != a.sha256
    b.path.unlink()
    gone = files.verify(b.sha256)
    assert gone.status == "missing" and gone.actual is None and gone.path == b.path


def test_ocr_text_lives_beside_the_file_in_nfc(tmp_path: Path) -> None:
    files = FileStore(tmp_path / "files")
    stored = files.put_bytes(PDF_A)
    path = files.put_text(stored.sha256, unicodedata.normalize("NFD", "Quyết định số 1624"))
    assert path == stored.path.with_suffix(".txt")
    assert files.text(stored.sha256) == unicodedata.normalize("NFC", "Quyết định số 1624")
    assert files.text(hashlib.sha256(b"other").hexdigest()) is None


def test_clear_errors(tmp_path: Path) -> None:
    files = FileStore(tmp_path / "files")
    with pytest.raises(SourceUnreadable, match="Cannot read .*nope.pdf"):
        files.put(tmp_path / "nope.pdf")
    with pytest.raises(BadChecksum, match="64 hexadecimal"):
        files.path_for("abc")


def test_event_and_instantiation_triples() -> None:
    stored = FileStore(Path("/nonexistent")).path_for(hashlib.sha256(PDF_A).hexdigest())
    from repository.files import StoredFile

    sf = StoredFile(hashlib.sha256(PDF_A).hexdigest().upper(), len(PDF_A), stored)
    original = Minter.instantiation(REC_A, "original")
    triples = instantiation_triples(REC_A, "original", sf, "0000001.pdf", 2, False)
    by_p = {(t.predicate.value.split("#")[-1], str(t.object)) for t in triples}
    assert ("sha256", f'"{sf.sha256}"') in by_p
    assert ("isOrWasInstantiationOf", f"<{REC_A}>") in by_p
    pdfa = instantiation_triples(REC_A, "pdfa", sf, "0000001.pdf", 2, True, derived_from=original)
    assert any(t.predicate.value.endswith("isDerivedFromInstantiation") for t in pdfa)
    assert any(t.object == ox.NamedNode("http://www.iso.org/pdfa/2b") for t in pdfa)
    ev = event_triples(original, "ingestion", AT, "success", "Nhận tệp / received")
    subjects = {t.subject.value for t in ev}
    assert subjects == {f"{original}/event/ingestion-20261126T091500"}
    objs = {str(t.object) for t in ev}
    assert "<https://w3id.org/kho/code/premis-ingestion>" in objs
    assert "<https://w3id.org/kho/code/outcome-success>" in objs
    assert '"2026-11-26T09:15:00+07:00"^^<http://www.w3.org/2001/XMLSchema#dateTime>' in objs
    with pytest.raises(ValueError):
        event_triples(original, "scan", AT, "success")


def _ingest(store: Store, files: FileStore) -> tuple[str, str]:
    """Two records with a file each: A in the public graph, B in the secret one."""
    quads = []
    for rec, data, graph in ((REC_A, PDF_A, PUBLIC), (REC_B, PDF_B, SECRET)):
        stored = files.put_bytes(data)
        inst = Minter.instantiation(rec, "original")
        triples = instantiation_triples(rec, "original", stored, "x.pdf", 1, False)
        triples += event_triples(inst, "ingestion", AT, "success")
        quads += [ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(graph)) for t in triples]
    store.add_quads(quads)
    return hashlib.sha256(PDF_A).hexdigest().upper(), hashlib.sha256(PDF_B).hexdigest().upper()


_FIXITY_EVENTS = """
SELECT ?g ?ev ?outcome WHERE { GRAPH ?g {
  ?ev kho:eventType khoc:premis-fixity-check ; prov:used ?inst ; kho:outcome ?outcome } }
"""


def test_fixity_run_records_events_and_reports_the_mismatch(tmp_path: Path) -> None:
    store, files = Store(tmp_path / "s"), FileStore(tmp_path / "files")
    sha_a, sha_b = _ingest(store, files)
    files.put_bytes(b"%PDF orphan")
    first = run_fixity(store, files, at=AT)
    assert first.ok and first.checked == 2 and first.good == 2 and first.orphans == 1
    _flip_byte(files.path_for(sha_b))
    report = run_fixity(store, files, at=datetime(2026, 11, 27, 9, 0, tzinfo=VN_TZ), chunk=1)
    assert not report.ok and report.count("mismatch") == 1
    (problem,) = report.problems
    assert problem.record == REC_B and problem.expected == sha_b and problem.actual != sha_b
    assert problem.graph == SECRET and problem.path == str(files.path_for(sha_b))
    rows = store.select(_FIXITY_EVENTS)
    assert len(rows) == 4
    failed = [r for r in rows if str(r["outcome"]).endswith("outcome-failure")]
    assert len(failed) == 1 and failed[0]["g"] == SECRET  # in the graph of the instantiation
    text = report.text()
    assert text.index("sai lệch") < text.index("mismatch") and REC_B in text
    data = report.to_json()
    assert data["ok"] is False and data["mismatch"] == 1
    assert data["problems"][0]["record"] == REC_B
    files.path_for(sha_a).unlink()
    assert run_fixity(store, files, at=datetime(2026, 11, 28, tzinfo=VN_TZ)).count("missing") == 1


def test_cli_fixity_exit_codes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(data_dir=tmp_path)
    monkeypatch.setenv("KHO_DATA_DIR", str(tmp_path))
    store = open_store(settings)  # type: ignore[arg-type]
    files = FileStore(settings.files_path)  # type: ignore[arg-type]
    _, sha_b = _ingest(store, files)
    assert main(["fixity"]) == 0
    assert "Tất cả tệp đều toàn vẹn" in capsys.readouterr().out
    _flip_byte(files.path_for(sha_b))
    assert main(["fixity", "--json"]) == 3
    out = json.loads(capsys.readouterr().out)
    assert out["mismatch"] == 1 and out["problems"][0]["record"] == REC_B
