"""What the records index learns from a record's registry links (docs/model.md, "Registry links"):
enterprise codes and names (full, abbreviated and foreign), parcel ids and cadastral keys with
their communes then and now, officials' codes, positions and agencies — so a search for "Viễn
thông Quân đội", "Viettel", "0100109106", "10369/8/434" or "Chủ tịch phường Ba Đình" finds the
records that cite them.

Links are read only from the graph the record is filed in (the one holding its kho:accessLevel), so
they follow the record's access level and never come from a `…/personal` graph. A citizen's link
gives only that the record cites a citizen: neither the number nor the pseudonym is read (ND
13/2023).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from repository import gazetteer
from repository.access import mask_personal
from repository.namespaces import KHO
from repository.store import Store
from repository.text import nfc

# Facet values (index field "registry"): what kind of entity a record cites.
KINDS = ("enterprise", "land", "official", "citizen")
_PROPS = (
    "refKind registryId communeCode mapSheet parcel parcelId enterpriseName enterpriseShortName "
    "enterpriseForeignName enterpriseStatusLabel "
    "officialPosition officialAgency officialAgencyName parcelUnitThen parcelUnitNow"
).split()
_LINKS = """
SELECT ?r ?ref ?p ?o WHERE {
  %s
  VALUES ?p { %s }
  GRAPH ?g { ?r kho:accessLevel ?mode ; dct:references ?ref . ?ref ?p ?o }
  FILTER(!STRENDS(STR(?g), "/personal"))
}"""


@dataclass
class LinkFields:
    """A record's links as index fields: facet kinds, searchable words, exact keys, labels."""

    kinds: set[str] = field(default_factory=set)
    words: list[str] = field(default_factory=list)  # names, positions, communes, codes
    keys: list[str] = field(default_factory=list)  # exact identifiers, lower-cased
    labels: list[str] = field(default_factory=list)  # one per link, to say how a hit matched

    def document(self) -> dict[str, object]:
        """The index fields (record_index.schema) for these links."""
        return {
            "registry": ",".join(k for k in KINDS if k in self.kinds),
            "links": " ; ".join(dict.fromkeys(self.words)),
            "link_keys": " ".join(dict.fromkeys(self.keys)),
            "link_labels": list(dict.fromkeys(self.labels)),
        }


def link_fields(store: Store, iris: list[str] | None) -> dict[str, LinkFields]:
    """The index fields of the links of these records/hồ sơ (all of them when None), by IRI."""
    props = " ".join(f"kho:{p}" for p in _PROPS)
    rows: list[dict[str, object]] = []
    if iris is None:
        rows = store.select(_LINKS % ("", props))
    else:
        for start in range(0, len(iris), 500):
            values = "VALUES ?r { " + " ".join(f"<{i}>" for i in iris[start : start + 500]) + " }"
            rows += store.select(_LINKS % (values, props))
    links: dict[tuple[str, str], dict[str, str]] = {}
    for row in rows:
        local = str(row["p"])[len(KHO) :]
        links.setdefault((str(row["r"]), str(row["ref"])), {}).setdefault(local, str(row["o"]))
    named = {v for p in links.values() for k, v in p.items() if k in _IRI_FACTS and not _citizen(p)}
    names = gazetteer.labels_of(store, sorted(named))
    out: dict[str, LinkFields] = {}
    for (record, _), p in sorted(links.items()):
        kind = p.get("refKind", "")
        if kind not in KINDS:
            continue
        fields = out.setdefault(record, LinkFields())
        fields.kinds.add(kind)
        if kind != "citizen":  # a citizen's link says nothing more, not even its pseudonym
            _add(fields, kind, p, names)
    return out


_IRI_FACTS = ("officialAgency", "parcelUnitThen", "parcelUnitNow")


def _citizen(p: dict[str, str]) -> bool:
    return p.get("refKind") == "citizen"


def _add(fields: LinkFields, kind: str, p: dict[str, str], names: dict[str, str]) -> None:
    def clean(value: str | None) -> str:
        return mask_personal(nfc(value or "")).strip()

    code = clean(p.get("registryId"))
    if kind == "enterprise":
        name = clean(p.get("enterpriseName"))
        short, foreign = clean(p.get("enterpriseShortName")), clean(p.get("enterpriseForeignName"))
        others = ", ".join(dict.fromkeys(n for n in (short, foreign) if n and n != name))
        words = [name, short, foreign, code, clean(p.get("enterpriseStatusLabel"))]
        keys = [code]
        label = f"{name} ({code})" if name and code else name or code
        label = " — ".join(x for x in (label, others) if x)  # "… (0100109106) — VIETTEL, …"
    elif kind == "land":
        parcel_id = clean(p.get("parcelId")) or code
        parts = [clean(p.get(k)) for k in ("communeCode", "mapSheet", "parcel")]
        key = "/".join(parts) if all(parts) else ""
        then = clean(names.get(p.get("parcelUnitThen", ""), ""))
        now = clean(names.get(p.get("parcelUnitNow", ""), ""))
        words = [parcel_id, key, then, now if now != then else ""]
        keys = [parcel_id, key]
        where = " → ".join(dict.fromkeys(n for n in (then, now) if n))
        head = f"thửa {parcel_id or key}" if parcel_id or key else ""
        label = " — ".join(x for x in (head, key if parcel_id else "", where) if x)
    else:  # official
        position = clean(p.get("officialPosition"))
        agency = clean(names.get(p.get("officialAgency", ""), "") or p.get("officialAgencyName"))
        words = [position, agency, code]
        keys = [code]
        head = ", ".join(x for x in (position, agency) if x)
        label = f"{head} ({code})" if head and code else head or (f"cán bộ {code}" if code else "")
    fields.words += [w for w in words if w]
    fields.keys += [k.lower() for k in keys if k]
    if label:
        fields.labels.append(label)
