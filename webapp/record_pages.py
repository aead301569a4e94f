"""Record (tài liệu) and hồ sơ pages, their file downloads and the provenance picture.

What a reader may see is the core's rule (repository.access): every query runs over
site().visible_graphs(), hidden is 404, citizens' numbers are masked without the personal grant.
A scan that names a citizen is only served to readers holding that grant (ND 13/2023).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Response, abort, render_template, request, send_file

from repository import access, provenance, record_detail
from repository.files import FileStore
from repository.gazetteer import labels_of
from repository.retention import CODE_LABELS
from webapp import auth, provenance_svg, site
from webapp.views import CSP, local_href

RICO = "https://www.ica.org/standards/RiC/ontology#"
KHO = "https://w3id.org/kho/ns#"
DCT = "http://purl.org/dc/terms/"
# Field labels, Vietnamese first (TT 05/2025 names); code-list values go through the vocabulary.
RECORD_FIELDS = [
    (RICO + "identifier", "Mã tài liệu", "Document code"),
    (KHO + "typeName", "Tên loại văn bản", "Document type"),
    (KHO + "numberSymbol", "Số, ký hiệu", "Number and symbol"),
    (DCT + "issued", "Ngày, tháng, năm văn bản", "Date issued"),
    (KHO + "organName", "Tên cơ quan ban hành", "Issuing body (as written)"),
    (RICO + "scopeAndContent", "Trích yếu nội dung", "Subject"),
    (KHO + "signer", "Người ký", "Signed by"),
    (KHO + "signerTitle", "Chức vụ người ký", "Signer's title"),
    (KHO + "numberOfPage", "Số trang", "Pages"),
    (DCT + "language", "Ngôn ngữ", "Language"),
    (KHO + "block", "Khối", "Block"),
    (KHO + "accessLevel", "Chế độ sử dụng", "Access"),
    (KHO + "maintenance", "Thời hạn bảo quản", "Retention period"),
    (KHO + "confidenceLevel", "Mức độ tin cậy", "Confidence"),
    (KHO + "keyword", "Từ khóa", "Keywords"),
    (KHO + "inforSign", "Ký hiệu thông tin", "Information sign"),
    (RICO + "descriptiveNote", "Ghi chú", "Note"),
]
HOSO_FIELDS = [
    (RICO + "identifier", "Mã hồ sơ", "File code"),
    (RICO + "title", "Tiêu đề hồ sơ", "Title"),
    (RICO + "beginningDate", "Thời gian bắt đầu", "Start date"),
    (RICO + "endDate", "Thời gian kết thúc", "End date"),
    (KHO + "totalDoc", "Tổng số văn bản", "Documents"),
    (KHO + "numberOfPaper", "Số tờ", "Sheets"),
    (KHO + "numberOfPage", "Số trang", "Pages"),
    (DCT + "language", "Ngôn ngữ", "Language"),
    (KHO + "block", "Khối", "Block"),
    (KHO + "accessLevel", "Chế độ sử dụng", "Access"),
    (KHO + "maintenance", "Thời hạn bảo quản", "Retention period"),
    (KHO + "physicalCondition", "Tình trạng vật lý", "Physical condition"),
    (KHO + "confidenceLevel", "Mức độ tin cậy", "Confidence"),
    (KHO + "paperFileCode", "Mã hồ sơ giấy", "Paper file code"),
    (KHO + "keyword", "Từ khóa", "Keywords"),
    (KHO + "inforSign", "Ký hiệu thông tin", "Information sign"),
    (KHO + "priorityGroup", "Nhóm ưu tiên số hóa", "Digitisation priority group"),
    (KHO + "batch", "Lô số hóa", "Batch"),
    (RICO + "descriptiveNote", "Ghi chú", "Note"),
]
LINKS = [
    (RICO + "hasCreator", "Cơ quan hình thành", "Creating agency"),
    (KHO + "adminUnit", "Đơn vị hành chính (khi hình thành)", "Unit it served then"),
    (RICO + "isOrWasIncludedIn", "Thuộc", "Part of"),
    (RICO + "hasOrHadHolder", "Nơi giữ", "Holder"),
]
DOWNLOADS = {"original.pdf": "original", "pdfa.pdf": "pdfa", "text.txt": "text"}
PAGE_CSP = CSP.replace("object-src 'none'", "object-src 'self'") + "; frame-src 'self'"
FILE_CSP = "default-src 'none'; object-src 'self'; frame-ancestors 'self'"


@dataclass
class Field:
    vi: str
    en: str
    values: list[tuple[str, str | None, str | None]]  # (text, English text, link)


def _fields(d: record_detail.Detail, spec: list[tuple[str, str, str]]) -> list[Field]:
    s, reader = site(), auth.current_reader()
    out = []
    for predicate, vi, en in spec:
        values = []
        for v in d.props.get(predicate, []):
            label = s.vocabulary.get(str(v))
            if label:
                values.append((label[0], label[1], None))
            else:
                values.append((access.mask_personal(str(v), reader), None, None))
        if values:
            out.append(Field(vi, en, values))
    return out


def _links(d: record_detail.Detail) -> list[Field]:
    s = site()
    iris = sorted({str(v) for p, _, _ in LINKS for v in d.props.get(p, [])})
    names = labels_of(s.store, iris)
    titles = _titles(iris)
    out = []
    for predicate, vi, en in LINKS:
        values = [
            (names.get(str(v)) or titles.get(str(v)) or str(v), None, local_href(str(v)))
            for v in d.props.get(predicate, [])
        ]
        if values:
            out.append(Field(vi, en, values))
    return out


def _titles(iris: list[str]) -> dict[str, str]:
    """Titles of hồ sơ and fonds among `iris`, from the graphs the reader sees."""
    if not iris:
        return {}
    s = site()
    values = " ".join(f"<{i}>" for i in iris)
    rows = s.store.select(
        f"SELECT ?s ?t WHERE {{ VALUES ?s {{ {values} }} ?s rico:title ?t "
        'FILTER(lang(?t) = "vi" || lang(?t) = "") }',
        graphs=s.visible_graphs(),
    )
    return {str(r["s"]): str(r["t"]) for r in rows}


def _chain(iri: str) -> tuple[list[provenance.Step], provenance_svg.ChainDiagram | None]:
    s = site()
    steps = provenance.chain(s.store, s.minter, iri, s.visible_graphs(), s.today())
    if not steps:
        return [], None
    return steps, provenance_svg.build(steps, local_href, iri.rsplit("/", 1)[-1])


def _audit_restricted(d: record_detail.Detail, what: str = "") -> None:
    if d.level in ("02", "03"):
        auth.audit("read-restricted", d.iri, f"{d.level}{' ' + what if what else ''}")


def record_page(iri: str) -> Response:
    s, reader = site(), auth.current_reader()
    graphs = s.visible_graphs()
    d = record_detail.detail(s.store, s.minter, iri, graphs)
    _audit_restricted(d)
    citizen = record_detail.names_citizen(s.store, s.minter, iri)
    withheld = citizen and not reader.sees_personal
    viewer = record_detail.file_of(d, "pdfa") or record_detail.file_of(d, "original")
    if viewer and any(e.kind == "premis-quarantine" and e.which == viewer.which for e in d.events):
        viewer = None  # a quarantined file is never opened in the reader's browser
    text = record_detail.ocr_text(FileStore(s.settings.files_path), d)  # type: ignore[arg-type]
    if citizen and reader.sees_personal:
        auth.audit("read-restricted", iri, "personal")
    hoso_retention = record_detail.retention_of(s.store, d.hoso, graphs) if d.hoso else None
    steps, chain = _chain(iri)
    key = iri.rsplit("/", 1)[-1]
    html = render_template(
        "record.html",
        d=d,
        iri=iri,
        key=key,
        title=_record_title(d),
        fields=_fields(d, RECORD_FIELDS),
        links=_links(d),
        viewer=None if withheld else viewer,
        withheld=withheld,
        text=access.mask_personal(text, reader) if text else None,
        retention=hoso_retention,
        hoso=d.hoso,
        hoso_title=access.mask_personal(_titles([d.hoso]).get(d.hoso, ""), reader)
        if d.hoso
        else None,
        steps=steps,
        chain=chain,
        svg_href=f"/provenance/record/{key}.svg",
        refs=[{k: access.mask_personal(v, reader) for k, v in r.items()} for r in d.refs],
        flags=d.flags if reader.curates else [],
        codes=CODE_LABELS,
    )
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = PAGE_CSP
    return response


def _record_title(d: record_detail.Detail) -> str:
    s, reader = site(), auth.current_reader()
    kind = s.vocabulary.get(str(d.first(KHO + "typeName") or ""))
    number = d.first(KHO + "numberSymbol")
    head = " ".join(str(x) for x in ((kind[0] if kind else None), number) if x)
    subject = d.first(RICO + "scopeAndContent")
    title = " — ".join(str(x) for x in (head, subject) if x) or str(d.first(RICO + "identifier"))
    return access.mask_personal(title, reader)


def hoso_page(iri: str) -> Response:
    s, reader = site(), auth.current_reader()
    d = record_detail.detail(s.store, s.minter, iri, s.visible_graphs())
    _audit_restricted(d)
    steps, chain = _chain(iri)
    key = iri.rsplit("/", 1)[-1]
    documents = [
        {
            "iri": str(doc["r"]),
            "id": doc["id"],
            "issued": doc["issued"],
            "number": doc["number"],
            "type": s.vocabulary.get(str(doc["type"] or "")),
            "subject": access.mask_personal(str(doc["subject"] or ""), reader),
        }
        for doc in d.documents
    ]
    html = render_template(
        "hoso.html",
        d=d,
        iri=iri,
        key=key,
        title=access.mask_personal(str(d.first(RICO + "title") or key), reader),
        fields=_fields(d, HOSO_FIELDS),
        links=_links(d),
        documents=documents,
        retention=d.retention,
        hoso=iri,
        steps=steps,
        chain=chain,
        svg_href=f"/provenance/hoso/{key}.svg",
        flags=d.flags if reader.curates else [],
        codes=CODE_LABELS,
    )
    return Response(html, mimetype="text/html")


def provenance_svg_response(kind: str, key: str) -> Response:
    """The provenance picture alone, as image/svg+xml."""
    s = site()
    if kind not in ("record", "hoso"):
        abort(404)
    iri = s.minter.record(key) if kind == "record" else s.minter.hoso(key)
    record_detail.locate(s.store, s.minter, iri, s.visible_graphs())
    _, chain = _chain(iri)
    if chain is None:
        abort(404)
    body = render_template("_provenance_svg.html", chain=chain)
    svg = '<?xml version="1.0" encoding="UTF-8"?>\n' + body
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    )
    return response


def download(key: str, name: str) -> Response:
    """/files/<record key>/original.pdf | pdfa.pdf | text.txt — never a path from the user: the
    key names a record, the record names its files, the store gives their checksums."""
    s, reader = site(), auth.current_reader()
    which = DOWNLOADS.get(name)
    if which is None:
        abort(404)
    iri = s.minter.record(key)
    d = record_detail.detail(s.store, s.minter, iri, s.visible_graphs())  # 404 when hidden
    if d.kind != "record":
        abort(404)
    files = FileStore(s.settings.files_path)  # type: ignore[arg-type]
    citizen = record_detail.names_citizen(s.store, s.minter, iri)
    # A name for the saved file from the record's code, reduced to safe characters: the code
    # comes from a contractor's sheet and must not shape the header (quotes, line breaks).
    filename = re.sub(r"[^\w.-]", "_", f"{d.first(RICO + 'identifier') or key}", flags=re.ASCII)
    if which == "text":
        text = record_detail.ocr_text(files, d)
        if text is None:
            abort(404)
        _audit_download(d, name, citizen and reader.sees_personal)
        response = Response(access.mask_personal(text, reader), mimetype="text/plain")
        response.headers["Content-Disposition"] = f'inline; filename="{filename}.txt"'
    else:
        if citizen and not reader.sees_personal:
            abort(404)  # the scan shows a citizen's number: personal grant only (ND 13/2023)
        f = record_detail.file_of(d, which)
        path = files.path_for(f.sha256) if f else None
        if path is None or not path.is_file():
            abort(404)
        _audit_download(d, name, citizen)
        # A quarantined file (not a PDF, a bomb, encrypted...) is kept as sent, never opened in
        # the reader's browser: it goes as an opaque attachment.
        quarantined = any(e.kind == "premis-quarantine" and e.which == which for e in d.events)
        attach = request.args.get("download") == "1" or quarantined
        response = send_file(
            path,
            mimetype="application/octet-stream" if quarantined else "application/pdf",
            as_attachment=attach,
            download_name=f"{filename}-{which}.pdf",
            conditional=True,
            etag=f.sha256.lower(),  # type: ignore[union-attr]
        )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = FILE_CSP
    response.headers["Cache-Control"] = "private, no-store" if d.level != "01" else "private"
    return response


def _audit_download(d: record_detail.Detail, name: str, personal: bool) -> None:
    if d.level in ("02", "03"):
        auth.audit("read-restricted", d.iri, f"{d.level} download {name}")
    elif personal:
        auth.audit("read-restricted", d.iri, f"personal download {name}")
