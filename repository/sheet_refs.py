"""Registry columns of a metadata sheet (issue 5 §3): the enterprises, land parcels, citizens and
officials a hồ sơ or document concerns, several per cell separated by ";".

Each value is checked by repository/identifiers.py; a bad one rejects its row with the sheet, row,
column, what is wrong and what to do. A citizen's number is personal data (NĐ 13/2023): it is
never quoted in a message or a report (`masked`), only ever returned inside a reference for the
personal graph. The references become registry links with refSource "sheet"
(repository/record_checks.registry_ref); the sheet formats name the columns (mappings/*.toml).
"""

from __future__ import annotations

import re
from datetime import date

from repository.identifiers import (
    InvalidIdentifier,
    check_citizen,
    check_enterprise,
    check_official,
    check_parcel,
    check_parcel_id,
)
from repository.mapping import FieldError, parse_date
from repository.sheets import SourceRow

# canonical field (mappings/records.toml) -> kho:refKind
REGISTRY_FIELDS = {
    "enterpriseCode": "enterprise",
    "landParcel": "land",
    "citizenId": "citizen",
    "officialCode": "official",
}
_SPLIT = re.compile(r";")
_PARCEL_HELP_VI = (
    "Ghi thửa đất dạng «mã xã/số tờ/số thửa» (ví dụ 10369/8/434, mã xã như vào ngày {when}) "
    "hoặc mã định danh thửa đất 12 ký tự."
)
_PARCEL_HELP_EN = (
    "Write a parcel as «commune code/map sheet/parcel» (e.g. 10369/8/434, the commune code as it "
    "was on {when}) or as its 12-character parcel identifier."
)
_WHEN = {
    "doc": ("ngày văn bản", "the document's issued date"),
    "hoso": ("ngày bắt đầu của hồ sơ", "the file's start date"),
}


def masked(value: str) -> str:
    """What a report may show of a value that may be a citizen's number, right or wrong: its
    first and last three characters (the form of repository.access.mask_personal)."""
    clean = re.sub(r"\s", "", value)
    if len(clean) <= 6:
        return "*" * len(clean)
    return clean[:3] + "*" * (len(clean) - 6) + clean[-3:]


def key_date(row: SourceRow) -> str | None:
    """The date a commune code on this row is meant on: a document's issued date, a hồ sơ's start
    date (ISO), or None when the row has no full date."""
    raw = row.values.get("issuedDate" if row.kind == "doc" else "startDate")
    if not raw:
        return None
    try:
        lexical, datatype = parse_date(raw)
    except ValueError:
        return None
    return lexical if datatype == "date" else None


def _land(value: str, on: str | None) -> dict[str, str]:
    if "/" not in value:
        parcel_id = check_parcel_id(value)
        return {"kind": "land", "id": parcel_id, "parcel_id": parcel_id}
    parts = [p.strip() for p in value.split("/")]
    if len(parts) != 3:
        raise InvalidIdentifier(
            "Thửa đất không hợp lệ: cần đúng ba phần mã xã, số tờ, số thửa.",
            "Land parcel is not valid: it needs exactly three parts, commune, sheet and parcel.",
        )
    key = check_parcel(parts[0], parts[1], parts[2], on or "")
    return {
        "kind": "land",
        "commune": key.commune,
        "sheet": key.sheet,
        "parcel": key.parcel,
        "on": key.on,
    }


def _one(kind: str, value: str, row: SourceRow, today: date | None) -> dict[str, str]:
    if kind == "enterprise":
        return {"kind": kind, "id": check_enterprise(value)}
    if kind == "official":
        return {"kind": kind, "id": check_official(value)}
    if kind == "citizen":
        if row.kind != "doc":
            raise InvalidIdentifier(
                "Số định danh cá nhân chỉ ghi ở dòng tài liệu nhắc tới công dân, không ghi ở dòng "
                "hồ sơ. Chuyển số sang dòng tài liệu đó.",
                "A citizen's number belongs on the row of the document that names the citizen, "
                "not on the file (hồ sơ) row. Move it to that document's row.",
            )
        return {"kind": kind, "id": check_citizen(value, today)}
    return _land(value, key_date(row))


def read_refs(
    row: SourceRow, today: date | None = None
) -> tuple[list[dict[str, str]], list[FieldError]]:
    """The registry references in a row's registry columns, in column order without repeats,
    and the values that cannot be used (the row is to be rejected if there is any)."""
    refs: list[dict[str, str]] = []
    seen: set[tuple[tuple[str, str], ...]] = set()
    problems: list[FieldError] = []
    for name, kind in REGISTRY_FIELDS.items():
        raw = row.values.get(name, "")
        column = row.columns.get(name, name)
        for value in (v.strip() for v in _SPLIT.split(raw)):
            if not value:
                continue
            try:
                ref = _one(kind, value, row, today)
            except InvalidIdentifier as exc:
                shown = masked(value) if kind == "citizen" else value
                vi, en = exc.message_vi, exc.message_en
                if kind == "land":
                    when_vi, when_en = _WHEN.get(row.kind, _WHEN["doc"])
                    vi += " " + _PARCEL_HELP_VI.format(when=when_vi)
                    en += " " + _PARCEL_HELP_EN.format(when=when_en)
                where_vi = f"{row.sheet}, dòng {row.row}, cột «{column}»"
                where_en = f"{row.sheet}, row {row.row}, column «{column}»"
                if f"«{shown}»" not in vi:  # the identifiers' messages quote non-personal values
                    where_vi += f", giá trị «{shown}»"
                    where_en += f", value «{shown}»"
                problems.append(
                    FieldError(
                        row.sheet,
                        row.row,
                        column,
                        name,
                        shown,
                        f"{where_vi}: {vi}",
                        f"{where_en}: {en}",
                    )
                )
                continue
            key = tuple(sorted(ref.items()))
            if key not in seen:
                seen.add(key)
                refs.append(ref)
    return refs, problems
