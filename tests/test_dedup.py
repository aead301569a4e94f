"""De-duplication and quality flags against a real on-disk store."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pyoxigraph as ox
import pytest

from repository.config import PROJECT_DIR
from repository.dedup import (
    BatchDuplicates,
    Signature,
    band_literals,
    files_with_checksum,
    flag_triples,
    near_duplicates,
    normal_number_symbol,
    same_document,
    set_review,
    signature_triples,
    text_signature,
)
from repository.errors import NotFound
from repository.files import StoredFile
from repository.namespaces import DCT, KHO, RICO, XSD, Minter
from repository.preservation import VN_TZ, instantiation_triples
from repository.store import Store

M = Minter("https://kho.example.org/")
R1, R2, R3 = (M.record(f"H01.151.2021.01.TH.000000{i}") for i in (1, 2, 3))
CREATOR = M.agency("ubnd", "xa-song-phuong-09829_until-2025-06-30")
PUBLIC, CURATION = M.records_graph("public"), M.records_graph("public", "curation")
AT = datetime(2026, 11, 26, 10, 0, tzinfo=VN_TZ)
SHA = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"

TEXT = (
    "Ủy ban nhân dân xã Song Phượng báo cáo tình hình thực hiện nhiệm vụ phát triển kinh tế "
    "xã hội năm 2021 và phương hướng nhiệm vụ năm 2022. Trong năm, sản xuất nông nghiệp được "
    "mùa, tổng sản lượng lương thực đạt 12.500 tấn, tăng 3% so với năm trước. Công tác xây "
    "dựng nông thôn mới nâng cao được triển khai đồng bộ, các tuyến đường trục thôn được cứng "
    "hóa. Công tác quản lý đất đai, trật tự xây dựng được tăng cường, xử lý dứt điểm các trường "
    "hợp vi phạm. Hoạt động văn hóa, thể thao diễn ra sôi nổi; công tác y tế, phòng chống dịch "
    "bệnh Covid-19 được thực hiện nghiêm túc. Giáo dục tiếp tục được quan tâm, tỷ lệ học sinh "
    "lên lớp đạt 99%. Quốc phòng, an ninh được giữ vững, trật tự an toàn xã hội được đảm bảo. "
    "Năm 2022, Ủy ban nhân dân xã tập trung chỉ đạo hoàn thành các chỉ tiêu kinh tế xã hội, "
    "đẩy mạnh cải cách hành chính và chuyển đổi số, nâng cao chất lượng phục vụ người dân."
)
# The same report typed again: a changed figure, old-style tone marks
# ("hoà" for "hóa"), different line breaks and case.
EDITED = TEXT.replace("12.500 tấn", "12.600 tấn").replace("hóa", "hoà").replace(". ", ".\n").upper()
UNRELATED = (
    "Ban Thường vụ Đảng ủy xã quyết định kết nạp đảng viên mới đối với đồng chí Nguyễn Văn An, "
    "sinh năm 1998, quê quán thôn Đông, đã qua lớp bồi dưỡng nhận thức về Đảng, được chi bộ "
    "thôn Đông đề nghị và đoàn thể chính trị - xã hội giới thiệu. Đồng chí có trách nhiệm phấn "
    "đấu, rèn luyện trong thời gian dự bị mười hai tháng theo quy định của Điều lệ Đảng."
)


def _quads(triples: list[ox.Triple], graph: str) -> list[ox.Quad]:
    return [ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(graph)) for t in triples]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "s")
    stored = StoredFile(SHA, 1234, tmp_path / "x.pdf")
    quads = _quads(instantiation_triples(R1, "original", stored, "1.pdf", 2, False), PUBLIC)
    node = ox.NamedNode
    quads += [
        ox.Quad(node(R1), node(KHO + "numberSymbol"), ox.Literal("1624/QĐ-UBND"), node(PUBLIC)),
        ox.Quad(node(R1), node(RICO + "hasCreator"), node(CREATOR), node(PUBLIC)),
        ox.Quad(
            node(R1),
            node(DCT + "issued"),
            ox.Literal("2021-05-24", datatype=node(XSD + "date")),
            node(PUBLIC),
        ),
    ]
    quads += _quads(signature_triples(R1, text_signature(TEXT)), CURATION)
    quads += _quads(signature_triples(R3, text_signature(UNRELATED)), CURATION)
    s.add_quads(quads)
    return s


def test_files_with_checksum(store: Store) -> None:
    assert files_with_checksum(store, SHA) == [R1]
    assert files_with_checksum(store, SHA.lower()) == [R1]
    assert files_with_checksum(store, "0" * 64) == []


def test_number_symbol_normalisation() -> None:
    assert normal_number_symbol("1624/QĐ-UBND") == normal_number_symbol(" 1624 / qd–ubnd ")
    assert normal_number_symbol("15-NQ/ĐU") == normal_number_symbol("15-NQ/DU")
    assert normal_number_symbol("1624/QĐ-UBND") != normal_number_symbol("1625/QĐ-UBND")


def test_same_document(store: Store) -> None:
    assert same_document(store, "1624 / QD-UBND", CREATOR, date(2021, 5, 24)) == [R1]
    assert same_document(store, "1624/QĐ-UBND", CREATOR, date(2021, 5, 25)) == []
    assert same_document(store, "1624/QĐ-UBND", M.agency("ubnd", "other"), date(2021, 5, 24)) == []
    assert same_document(store, "1625/QĐ-UBND", CREATOR, date(2021, 5, 24)) == []


def test_near_duplicate_found_and_unrelated_not(store: Store) -> None:
    sig = text_signature(EDITED)
    found = near_duplicates(store, sig)
    assert [iri for iri, _ in found] == [R1]
    assert 0.85 <= found[0][1] < 1.0
    assert near_duplicates(store, text_signature(TEXT), exclude=R1) == []
    other = near_duplicates(store, text_signature(UNRELATED))
    assert [iri for iri, _ in other] == [R3] and other[0][1] == 1.0
    assert near_duplicates(store, text_signature("")) == []


def test_signatures_are_deterministic_across_processes() -> None:
    sig = text_signature(TEXT)
    assert len(sig.values) == 64 and len(band_literals(sig)) == 16
    assert Signature.from_literal(sig.literal()).values == sig.values
    code = (
        "from repository.dedup import text_signature, band_literals;"
        "import sys; s = text_signature(sys.stdin.read());"
        "print(s.literal()); print(' '.join(band_literals(s)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=TEXT,
        capture_output=True,
        text=True,
        check=True,
        cwd=PROJECT_DIR,
        env={"PYTHONHASHSEED": "12345", "PYTHONIOENCODING": "utf-8"},
    ).stdout.splitlines()
    assert out == [sig.literal(), " ".join(band_literals(sig))]


def test_batch_duplicates_within_one_batch() -> None:
    batch = BatchDuplicates()
    issued = date(2021, 5, 24)
    assert (
        batch.check(
            R1,
            sha=SHA,
            number_symbol="1624/QĐ-UBND",
            creator=CREATOR,
            issued=issued,
            signature=text_signature(TEXT),
        )
        == []
    )
    found = batch.check(
        R2,
        sha=SHA.lower(),
        number_symbol="1624/QD-UBND",
        creator=CREATOR,
        issued=issued,
        signature=text_signature(EDITED),
    )
    assert {(d.kind, d.duplicate_of) for d in found} == {
        ("duplicate-file", R1),
        ("duplicate-document", R1),
        ("near-duplicate", R1),
    }
    assert batch.check(R3, signature=text_signature(UNRELATED), sha="A" * 64) == []


def test_flags_for_every_kind() -> None:
    kinds = [
        "extraction-mismatch",
        "duplicate-file",
        "duplicate-document",
        "near-duplicate",
        "damaged",
        "empty-text",
    ]
    for kind in kinds:
        triples = flag_triples(R2, kind, duplicate_of=R1 if "dup" in kind else None, at=AT)
        status = {str(t.object) for t in triples if t.predicate.value == KHO + "reviewStatus"}
        expected = (
            "under-review" if kind in ("extraction-mismatch", "empty-text") else "xem-xet-huy"
        )
        assert status == {f"<https://w3id.org/kho/code/review-{expected}>"}
        assert {t.subject.value for t in triples} == {Minter.flag(R2, kind)}
    mismatch = flag_triples(
        R2,
        "extraction-mismatch",
        field="issued_on",
        sheet_value="2021-05-24",
        extracted_value="2021-05-25",
        at=AT,
    )
    values = {t.predicate.value.split("#")[-1]: t.object.value for t in mismatch}
    assert values["field"] == "issued_on" and values["extractedValue"] == "2021-05-25"
    assert {t.subject.value for t in mismatch} == {
        Minter.flag(R2, "extraction-mismatch", "issued_on")
    }
    with pytest.raises(ValueError):
        flag_triples(R2, "ugly", at=AT)


_STATUS = "SELECT ?s WHERE { GRAPH ?g { ?flag kho:reviewStatus ?s } }"
_REVIEWS = """
SELECT ?r ?who ?s WHERE { ?r prov:used ?flag ; prov:wasAssociatedWith ?who ; dct:type ?s }
ORDER BY ?r
"""


def test_set_review_records_who_and_when(store: Store) -> None:
    flag = Minter.flag(R2, "near-duplicate")
    store.add_quads(_quads(flag_triples(R2, "near-duplicate", duplicate_of=R1, at=AT), CURATION))
    subs = {"flag": ox.NamedNode(flag)}
    set_review(store, flag, "confirmed", "https://kho.example.org/id/user/lan", AT)
    assert [r["s"] for r in store.select(_STATUS, substitutions=subs)] == [
        "https://w3id.org/kho/code/review-confirmed"
    ]
    set_review(store, flag, "overturned", "Nguyễn Thị Lan", datetime(2026, 11, 27, tzinfo=VN_TZ))
    assert [r["s"] for r in store.select(_STATUS, substitutions=subs)] == [
        "https://w3id.org/kho/code/review-overturned"
    ]
    reviews = store.select(_REVIEWS, substitutions=subs)
    assert [r["r"] for r in reviews] == [f"{flag}/review-1", f"{flag}/review-2"]
    assert reviews[1]["who"] == "Nguyễn Thị Lan"
    assert reviews[1]["s"] == "https://w3id.org/kho/code/review-overturned"
    # the rest of the curation graph is untouched
    assert near_duplicates(store, text_signature(EDITED))[0][0] == R1
    with pytest.raises(NotFound):
        set_review(store, Minter.flag(R3, "damaged"), "confirmed", "lan", AT)


def test_a_flag_never_quotes_a_citizens_number() -> None:
    """The curation graph is not the personal graph: OCR and sheet values are masked (issue 5)."""
    triples = flag_triples(
        "https://kho.example.org/id/record/x",
        "extraction-mismatch",
        field="subject",
        sheet_value="Cấp phép cho hộ ông A",
        extracted_value="Cấp phép cho hộ ông A (CCCD số 001089012345)",
        note="CMND 012345678",
        at=datetime(2026, 11, 26, 9, 0),
    )
    values = " ".join(t.object.value for t in triples)
    assert "001089012345" not in values and "001******345" in values
    assert "012345678" not in values
