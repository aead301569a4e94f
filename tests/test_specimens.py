"""Specimen documents: consistent truth, real issuers, valid identifiers, faithful rendering."""

from __future__ import annotations

import random
import re
import subprocess
from datetime import date
from pathlib import Path

import pytest

from harvesters import specimen_text as st
from harvesters.specimens import make_spec, random_specs, render_pdf, render_scan, write_corpus
from repository.identifiers import valid_citizen, valid_enterprise
from repository.text import nfc

STATE = re.compile(r"^\d{2,}/[A-ZĐ][A-Za-zĐđ]*-[A-ZĐ][A-Za-zĐđ0-9]*$")
PARTY = re.compile(r"^\d{2,}-[A-ZĐ][A-Za-zĐđ]*/[A-ZĐ]+$")


@pytest.fixture(scope="module")
def specs() -> list:
    return random_specs(random.Random(7), 120)


def test_truth_has_the_extract_shape(specs: list) -> None:
    keys = [
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
    for spec in specs:
        assert list(spec.truth()) == keys


def test_all_blocks_both_eras_and_levels(specs: list) -> None:
    assert {s.block for s in specs} == {"chinh-quyen", "dang", "doan-the"}
    assert any(s.issued_on < date(2025, 7, 1) for s in specs)
    assert any(s.issued_on >= date(2025, 7, 1) for s in specs)
    assert {len(s.admin_unit_code) for s in specs} == {2, 3, 5}  # city, district, commune
    kinds = {s.agency_kind for s in specs}
    assert {"ubnd", "dang-uy", "mttq", "doan-tn", "hoi-lhpn"} <= kinds


def test_issuers_are_real_units_of_their_era(specs: list) -> None:
    old, new = st.hanoi_units()
    for spec in specs:
        units = old if spec.issued_on < date(2025, 7, 1) else new
        assert (spec.admin_unit_code, spec.admin_unit_name) in {(u.code, u.name) for u in units}
    assert st.agency_name("ubnd", next(u for u in old if u.code == "09829")) == (
        "Ủy ban nhân dân xã Song Phượng"
    )


def test_number_symbols_follow_nd30_and_hd36(specs: list) -> None:
    for spec in specs:
        pattern = PARTY if spec.party_layout else STATE
        assert pattern.match(spec.number_symbol), spec.number_symbol
        if spec.document_type == "Công văn" and not spec.party_layout:
            assert spec.number_symbol.split("/")[1].split("-")[0] in ("UBND", "HĐND", "MTTQ") or (
                spec.agency_kind.startswith("hoi")
            )


def test_registry_identifiers_are_valid(specs: list) -> None:
    refs = [r for s in specs for r in s.registry_refs]
    assert {r["kind"] for r in refs} == {"land", "enterprise", "citizen"}
    for r in refs:
        if r["kind"] == "enterprise":
            assert valid_enterprise(r["id"])
        if r["kind"] == "citizen":
            assert valid_citizen(r["id"])


def test_enterprise_check_digit() -> None:
    assert valid_enterprise("0100109106")  # Viettel
    assert not valid_enterprise("0100109107")
    assert st.mst_check_digit("010010910") == 6


def _text(pdf: Path) -> str:
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True)
    return nfc(" ".join(out.stdout.split()))


@pytest.mark.parametrize(
    ("old", "block"), [(True, "dang"), (False, "doan-the"), (True, "chinh-quyen")]
)
def test_born_digital_text_layer_round_trips_vietnamese(
    tmp_path: Path, old: bool, block: str
) -> None:
    spec = make_spec(random.Random(3), old, block)
    pdf = tmp_path / "doc.pdf"
    render_pdf(spec, pdf)
    text = _text(pdf)
    for expected in [spec.signer, spec.number_symbol, *spec.issuer_lines, *spec.body[:2]]:
        assert " ".join(expected.split()) in text
    assert " ".join(spec.subject.split()) in text
    wanted = set("".join([spec.subject, spec.signer, *spec.body, *spec.issuer_lines]))
    assert wanted - set(text) <= {" "}  # every character has a glyph and comes back


def test_scan_is_image_only(tmp_path: Path) -> None:
    spec = make_spec(random.Random(4), True, "chinh-quyen")
    pdf = tmp_path / "scan.pdf"
    render_scan(spec, pdf, dpi=200, rng=random.Random(1))
    assert _text(pdf) == ""
    images = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True)
    assert " 200 " in images.stdout.splitlines()[2]


def test_write_corpus(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path, 3, seed=1, scanned_ratio=0.0)
    assert len(corpus) == 3 and all(p.exists() and not scanned for p, _, scanned in corpus)
    assert (tmp_path / "truth.json").exists()
