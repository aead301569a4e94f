"""Bilingual labels: code-list concepts from the vocabulary graph, plus a few words of the UI."""

from __future__ import annotations

from dataclasses import dataclass, field

from repository.namespaces import KHOC, PREFIXES
from repository.store import Store

# (Vietnamese, English): words the pages use that are not concepts of a code list.
LEVELS = {
    "province": ("Cấp tỉnh", "Province level"),
    "district": ("Cấp huyện", "District level"),
    "commune": ("Cấp xã", "Commune level"),
}
ERAS = {
    "before": ("Trước 01/7/2025", "Before 2025-07-01"),
    "after": ("Từ 01/7/2025", "From 2025-07-01"),
    "both": ("Trước và sau 01/7/2025", "Before and after 2025-07-01"),
}
RELATIONS = {
    "merged": ("hợp nhất", "merged"),
    "split": ("chia tách", "split"),
    "successor": ("kế thừa", "successor"),
}
PORTIONS = {"whole": ("toàn bộ", "whole"), "part": ("một phần", "part")}
# Short names of the change types (scheme khoc:change-types), for the lineage diagram.
CHANGES = {
    "change-merger": ("nhập", "merger"),
    "change-partial-transfer": ("chia", "split"),
    "change-rename": ("đổi tên", "rename"),
    "change-hierarchy": ("đổi cấp trên", "new parent"),
    "change-level-abolition": ("bỏ cấp", "level ended"),
    "change-establishment": ("thành lập", "established"),
    "change-dissolution": ("giải thể", "dissolved"),
}
TYPES = {
    "unit": ("Đơn vị hành chính", "Administrative unit"),
    "agency": ("Cơ quan, tổ chức", "Agency"),
    "event": ("Sự kiện sắp xếp", "Reorganisation event"),
    "legal": ("Văn bản pháp luật", "Legal act"),
    "transfer": ("Chuyển giao lãnh thổ", "Territory transfer"),
    "fonds": ("Phông lưu trữ", "Fonds"),
    "hoso": ("Hồ sơ", "File"),
    "record": ("Tài liệu", "Record"),
    "holding": ("Quan hệ quản lý tài liệu", "Custody relation"),
    "resource": ("Tài nguyên", "Resource"),
}

_LABELS = """
SELECT ?c ?vi ?en WHERE { GRAPH ?g {
  { ?c skos:prefLabel ?vi } UNION { ?c rdfs:label ?vi }
  FILTER(lang(?vi) = "vi")
  OPTIONAL { { ?c skos:prefLabel ?en } UNION { ?c rdfs:label ?en } FILTER(lang(?en) = "en") }
} }"""


@dataclass
class Vocabulary:
    """Labels of the concepts, classes and properties in the vocabulary graph, by IRI."""

    labels: dict[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def load(cls, store: Store) -> Vocabulary:
        graphs = [g for g in store.named_graphs() if g.endswith("/graph/vocabulary")]
        if not graphs:
            return cls()
        rows = store.select(_LABELS, graphs=graphs)
        return cls({str(r["c"]): (str(r["vi"]), str(r["en"] or r["vi"])) for r in rows})

    def get(self, iri: str) -> tuple[str, str] | None:
        return self.labels.get(iri)

    def code(self, local: str) -> tuple[str, str]:
        """Label of a code-list concept by local name ('block-dang'), or the name itself."""
        return self.labels.get(KHOC + local, (local, local))

    def kind(self, kind: str) -> tuple[str, str]:
        return self.code(f"agency-{kind}")


def curie(iri: str) -> str:
    """'rico:endDate' for an IRI in one of our namespaces, else the IRI itself."""
    best = ""
    for prefix, ns in PREFIXES.items():
        if iri.startswith(ns) and len(ns) > len(best):
            best = ns
            found = f"{prefix}:{iri[len(ns) :]}"
    return found if best else iri
