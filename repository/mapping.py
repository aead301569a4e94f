"""Turns one sheet row into RDF through the declared mappings.

The sheet format (mappings/<format>.toml) says how a column's text is read, and
mappings/records.toml what each canonical field becomes.

Only the sheet's own fields are mapped here; ingest adds the creator, unit, files and the rest.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox

from repository.errors import ConfigError
from repository.namespaces import KHOC, PREFIXES, SKOS, XSD, code
from repository.sheets import MAPPINGS, FieldSpec, SheetFormat, SourceRow, header_key
from repository.text import nfc

CODES = Path(__file__).resolve().parent.parent / "ontology" / "codes"
OBJECTS = ("string", "langString", "integer", "date", "concept")
_ISO = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2})(?:[T ].*)?)?)?$")
_DMY = re.compile(r"^(?:(\d{1,2})[/.-])?(\d{1,2})[/.-](\d{4})$")
_DMY_SHORT = re.compile(r"^(?:\d{1,2}[/.-])?\d{1,2}[/.-]\d{2}$")
_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")
_INT = re.compile(r"^[+-]?\d+(?:\.0+)?$")
_MULTI = {"codes": re.compile(r"[;,]"), "texts": re.compile(r";")}
MAX_CELL = 10_000  # characters in one sheet cell; TT 05/2025's longest fields are 1000-2000
_DATE_HELP_VI = "Ghi ngày theo dạng DD/MM/YYYY (hoặc MM/YYYY, YYYY, hay YYYY-MM-DD)."
_DATE_HELP_EN = "Write the date as DD/MM/YYYY (or MM/YYYY, YYYY, or YYYY-MM-DD)."


@dataclass(frozen=True)
class RdfField:
    """What one canonical field becomes (mappings/records.toml)."""

    name: str
    predicate: str  # full IRI, or "" for a field read only for the pipeline
    object: str
    scheme: str | None = None
    concept: str | None = None


@dataclass(frozen=True)
class FieldError:
    """A sheet value that cannot be read, with where it is and what to do."""

    sheet: str
    row: int
    column: str | None
    field: str
    value: str
    message_vi: str
    message_en: str


def expand(curie: str) -> str:
    """'kho:maintenance' -> its full IRI, with the project's prefixes."""
    prefix, _, local = curie.partition(":")
    if prefix not in PREFIXES:
        raise ConfigError(f"Unknown prefix in {curie!r} (mappings/records.toml).")
    return PREFIXES[prefix] + local


@lru_cache(maxsize=4)
def load_records(mappings_dir: Path = MAPPINGS) -> dict[str, RdfField]:
    """Canonical field -> RDF, from mappings/records.toml."""
    path = Path(mappings_dir) / "records.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    out = {}
    for name, spec in data["fields"].items():
        obj = spec["object"]
        if obj not in OBJECTS or (obj == "concept" and not spec.get("concept")):
            raise ConfigError(f"{path}: field {name} has object {obj!r} without a valid concept.")
        predicate = expand(spec["predicate"]) if spec["predicate"] else ""
        out[name] = RdfField(name, predicate, obj, spec.get("scheme"), spec.get("concept"))
    return out


@lru_cache(maxsize=32)
def scheme_index(scheme: str) -> dict[str, str]:
    """header_key of every notation and label of a code list's concepts -> concept IRI."""
    path = CODES / f"{scheme}.ttl"
    if not path.exists():
        raise ConfigError(
            f"No code list {path} for the scheme {scheme!r} of mappings/records.toml."
        )
    in_scheme = ox.NamedNode(SKOS + "inScheme")
    labels = {SKOS + p for p in ("notation", "prefLabel", "altLabel")}
    triples = list(ox.parse(path=str(path), format=ox.RdfFormat.TURTLE))
    members = {
        t.subject.value
        for t in triples
        if t.predicate == in_scheme and t.object.value == KHOC + scheme
    }
    index: dict[str, str] = {}
    for t in triples:
        if t.subject.value in members and t.predicate.value in labels:
            index.setdefault(header_key(t.object.value), t.subject.value)
    return index


# -- values -------------------------------------------------------------------------------------


def parse_date(text: str, today: date | None = None) -> tuple[str, str]:
    """(lexical form, XSD datatype local name) of a sheet date; ValueError if it is no date (or,
    when `today` is given, a date after it)."""
    value = text.strip()
    m = _ISO.match(value)
    if m:
        y, mo, d = m.group(1), m.group(2), m.group(3)
    else:
        m = _DMY.match(value)
        if not m:
            raise ValueError("format")
        d, mo, y = m.group(1), m.group(2), m.group(3)
    if today is not None and int(y) > today.year:
        raise ValueError("future")
    if mo is None:
        return y, "gYear"
    if not 1 <= int(mo) <= 12:
        raise ValueError("month")
    if d is None:
        if today is not None and (int(y), int(mo)) > (today.year, today.month):
            raise ValueError("future")
        return f"{y}-{int(mo):02d}", "gYearMonth"
    day = date(int(y), int(mo), int(d))  # raises on 31/02, 29/02/2023, 00/01/2020
    if today is not None and day > today:
        raise ValueError("future")
    return day.isoformat(), "date"


def _date_problem(value: str, reason: str, today: date) -> tuple[str, str]:
    """What is wrong with a sheet date, and what to do (Vietnamese, English)."""
    if _DMY_SHORT.match(value):
        return (
            "có năm chỉ 2 chữ số: không biết là năm 19xx hay 20xx (kho lưu hồ sơ của cả thế kỷ), "
            f"Kho không đoán. Ghi đủ 4 chữ số của năm. {_DATE_HELP_VI}",
            "has a two-digit year: 19xx or 20xx cannot be told apart (the archive spans a "
            f"century), and Kho does not guess. Write the year with 4 digits. {_DATE_HELP_EN}",
        )
    if _SERIAL.match(value):
        return (
            "là số ngày kiểu Excel, không phải ngày. Định dạng cột là ngày (Date) hoặc văn bản "
            f"rồi xuất lại. {_DATE_HELP_VI}",
            "is an Excel serial day number, not a date. Format the column as Date or Text and "
            f"export again. {_DATE_HELP_EN}",
        )
    if reason == "future":
        return (
            f"là ngày trong tương lai (hôm nay là {today:%d/%m/%Y}). Kiểm tra lại ngày.",
            f"is in the future (today is {today:%d/%m/%Y}). Check the date.",
        )
    if reason == "format":
        return f"không phải là ngày. {_DATE_HELP_VI}", f"is not a date. {_DATE_HELP_EN}"
    return (
        f"không phải là ngày có thật. {_DATE_HELP_VI}",
        f"is not a real calendar date. {_DATE_HELP_EN}",
    )


def _concept(value: str, spec: FieldSpec, rdf: RdfField) -> str | None:
    index = scheme_index(rdf.scheme or "")
    key = header_key(value)
    if key.isdigit():
        iri = code(rdf.concept.format(f"{int(key):02d}")) if rdf.concept else None
        return iri if iri in index.values() else None
    if key in spec.values and rdf.concept:
        iri = code(rdf.concept.format(spec.values[key]))
        return iri if iri in index.values() else None
    return index.get(key)


def _literal(
    value: str, spec: FieldSpec, rdf: RdfField, today: date
) -> tuple[ox.Literal | ox.NamedNode | None, tuple[str, str] | None]:
    """The RDF term for one value, or (None, (message_vi, message_en)) saying what is wrong."""
    if rdf.object == "string":
        return ox.Literal(value), None
    if rdf.object == "langString":
        return ox.Literal(value, language="vi"), None
    if rdf.object == "integer":
        compact = value.replace(" ", "").replace("\u00a0", "")
        if not _INT.match(compact):
            return None, (
                "không phải là số nguyên. Ghi một số, ví dụ 12.",
                "is not a whole number. Write a number, e.g. 12.",
            )
        return ox.Literal(str(int(float(compact))), datatype=ox.NamedNode(XSD + "integer")), None
    if rdf.object == "date":
        try:
            lexical, dt = parse_date(value, today)
        except ValueError as exc:
            return None, _date_problem(value, str(exc), today)
        return ox.Literal(lexical, datatype=ox.NamedNode(XSD + dt)), None
    iri = _concept(value, spec, rdf)
    if iri is None:
        return None, (
            f"không có trong danh mục mã {rdf.scheme}. Ghi mã (ví dụ 01) hoặc tên đúng như danh "
            f"mục trong ontology/codes/{rdf.scheme}.ttl.",
            f"is not in the code list {rdf.scheme}. Write the code (e.g. 01) or the label as in "
            f"ontology/codes/{rdf.scheme}.ttl.",
        )
    return ox.NamedNode(iri), None


def row_to_rdf(
    row: SourceRow, subject: str, fmt: SheetFormat, today: date | None = None
) -> tuple[list[ox.Triple], list[FieldError]]:
    """The declared sheet fields of one row as triples about `subject`, and the failed values;
    a date after `today` (default: the clock) is one."""
    today = today or date.today()
    records = load_records()
    node = ox.NamedNode(subject)
    triples: dict[ox.Triple, None] = {}
    errors: list[FieldError] = []
    for name, raw in row.values.items():
        if len(raw) > MAX_CELL:
            errors.append(_too_long(row, name, raw))
            continue
        spec, rdf = fmt.fields.get(name), records.get(name)
        if spec is None or rdf is None or not rdf.predicate or not spec.applies_to(row.kind):
            continue
        splitter = _MULTI.get(spec.type)
        parts = [p.strip() for p in splitter.split(raw)] if splitter else [raw.strip()]
        predicate = ox.NamedNode(rdf.predicate)
        for part in (nfc(p) for p in parts if p.strip()):
            term, problem = _literal(part, spec, rdf, today)
            if term is None:
                column = row.columns.get(name, name)
                vi, en = problem  # type: ignore[misc]
                errors.append(
                    FieldError(
                        row.sheet,
                        row.row,
                        column,
                        name,
                        part,
                        f"{row.sheet}, dòng {row.row}, cột «{column}»: giá trị «{part}» {vi}",
                        f"{row.sheet}, row {row.row}, column «{column}»: the value «{part}» {en}",
                    )
                )
                continue
            triples[ox.Triple(node, predicate, term)] = None
    return list(triples), errors


def _too_long(row: SourceRow, name: str, raw: str) -> FieldError:
    column = row.columns.get(name, name)
    where_vi = f"{row.sheet}, dòng {row.row}, cột «{column}»"
    where_en = f"{row.sheet}, row {row.row}, column «{column}»"
    return FieldError(
        row.sheet,
        row.row,
        column,
        name,
        raw[:80] + "…",
        f"{where_vi}: ô dài {len(raw):,} ký tự, quá giới hạn {MAX_CELL:,} (TT 05/2025 cho tiêu "
        "đề tối đa 1000 ký tự). Rút gọn, hoặc đưa nội dung vào tệp đính kèm.",
        f"{where_en}: the cell holds {len(raw):,} characters, over the limit of {MAX_CELL:,} "
        "(TT 05/2025 allows 1000 for a title). Shorten it, or put the text in an attached file.",
    )


def column_for(row: SourceRow, predicate_iri: str) -> str | None:
    """The sheet column behind a predicate on this row (for a SHACL violation's path).

    The row's own header when the sheet has the column, else the format's first header for the
    field (the column to add), else None when no sheet field maps to the predicate.
    """
    for name, rdf in load_records().items():
        spec = row.format.fields.get(name)
        if rdf.predicate == predicate_iri and spec is not None and spec.applies_to(row.kind):
            return row.columns.get(name) or spec.headers[0]
    return None
