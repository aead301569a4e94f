"""What a registry's answer leaves on a link: the facts worth keeping (enterprise name, its
abbreviated and foreign names, and status; a parcel's id, area, use and its commune then and
now as Kho's unit versions; an official's position and Kho agency; the name a registry knows a
unit or agency by) and, when the check failed, a note saying what to do — never with a
citizen's number in it.

A registry that does not answer (`registry-error`) erases nothing: the facts of the last
successful check stay on the link, `kho:lastVerifiedAt` says when that was, and the note says
the registry did not answer at T and the facts are as verified at T0. `not-found` is a real
answer: the facts go.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from repository import gazetteer
from repository.namespaces import KHO, XSD, verification_concept
from repository.rdf import Triples, decimal, text
from repository.registry_links import STATUSES, targets
from repository.resolve import resolve_issuer
from repository.store import Store

if TYPE_CHECKING:
    from repository.config import Settings
    from repository.registry_verify import Link

# What a check writes whatever the answer (the rest of FACTS only when verified).
BOOKKEEPING = ("verificationStatus", "checkedAt", "verificationNote", "lastVerifiedAt")
FACTS = (
    *BOOKKEEPING,
    *"""enterpriseName enterpriseShortName enterpriseForeignName enterpriseStatus
    enterpriseStatusLabel parcelId parcelArea landUse
    parcelUnitThen parcelUnitNow officialPosition officialAgency officialAgencyName
    registryName""".split(),
)
_XSD_DATETIME = ox.NamedNode(XSD + "dateTime")


class Matcher:
    """Kho's unit versions and agencies for what a registry names, memoised for one run."""

    def __init__(self, store: Store, today: date) -> None:
        self.store = store
        self.today = today
        self._units: dict[tuple[str, str], str | None] = {}
        self._agencies: dict[tuple[str, str, str], str | None] = {}

    def unit(self, code_: str, on: str | None) -> str | None:
        """The unit version that bore `code_` on `on` (a commune first), else None."""
        day = on or self.today.isoformat()
        key = (code_, day)
        if key not in self._units:
            try:
                found = gazetteer.units_with_code(self.store, code_, date.fromisoformat(day[:10]))
            except ValueError:
                found = []
            found.sort(key=lambda u: (u.level != "commune", u.iri))
            self._units[key] = found[0].iri if found else None
        return self._units[key]

    def agency(self, name: str, on: str, province: str) -> str | None:
        key = (name, on, province)
        if key not in self._agencies:
            match = resolve_issuer(
                self.store, name, date.fromisoformat(on[:10]), province_code=province
            )
            self._agencies[key] = match.agency_iri if match and match.score >= 0.95 else None
        return self._agencies[key]


def link_update(link: Link, answer: Any, settings: Settings, matcher: Matcher) -> list[ox.Triple]:
    """The link's new status, check time, note and facts. After a registry error the facts of
    the last successful check stay (they are not rewritten here: see `keeps_facts`) and
    `kho:lastVerifiedAt` says when they were verified."""
    t = Triples()
    status = answer.status if answer.status in STATUSES else "registry-error"
    t.iri(link.iri, KHO + "verificationStatus", verification_concept(status))
    t.lit(link.iri, KHO + "checkedAt", ox.Literal(answer.checked_at, datatype=_XSD_DATETIME))
    if status == "verified":
        facts(link, answer, t, settings, matcher)
    else:
        since = kept_since(link, status)
        vi, en = note(link, answer, checked_at=answer.checked_at, since=since)
        t.lit(link.iri, KHO + "verificationNote", text(vi, "vi"))
        t.lit(link.iri, KHO + "verificationNote", text(en, "en"))
        if since:
            t.lit(link.iri, KHO + "lastVerifiedAt", ox.Literal(since, datatype=_XSD_DATETIME))
    return sorted(t.triples, key=str)


def kept_since(link: Link, status: str) -> str | None:
    """When the facts a registry error leaves on the link were verified (None: nothing kept)."""
    if status != "registry-error":
        return None
    if link.last_verified_at:
        return link.last_verified_at
    return link.checked_at if link.status == "verified" else None


def keeps_facts(link: Link, answer: Any) -> bool:
    """True when a check replaces only the bookkeeping of the link (a registry error after a
    successful check): its facts and the keys learnt then stay."""
    status = answer.status if answer.status in STATUSES else "registry-error"
    return kept_since(link, status) is not None


def facts(link: Link, answer: Any, t: Triples, settings: Settings, m: Matcher) -> None:
    """The facts worth keeping from a verified answer, as triples on the link."""
    f, s, to = answer.facts or {}, link.iri, targets(settings)
    if link.kind == "enterprise":
        t.lit(s, KHO + "enterpriseName", _vi(f.get("name")))
        t.lit(s, KHO + "enterpriseShortName", _plain(f.get("short_name")))
        t.lit(s, KHO + "enterpriseForeignName", _plain(f.get("foreign_name")))
        t.lit(s, KHO + "enterpriseStatus", _plain(f.get("status")))
        t.lit(s, KHO + "enterpriseStatusLabel", _vi(f.get("status_label")))
    elif link.kind == "land":
        parcel_id = f.get("parcel_id")
        t.lit(s, KHO + "parcelId", _plain(parcel_id))
        if parcel_id and not link.registry_id:
            t.iri(s, KHO + "linkTarget", to.parcel(str(parcel_id)))
        if f.get("area_m2") is not None:
            t.lit(s, KHO + "parcelArea", decimal(float(f["area_m2"])))
        t.lit(s, KHO + "landUse", _plain(f.get("land_use")))
        then, now = f.get("commune_then") or {}, f.get("commune_now") or {}
        if then.get("code"):
            unit = m.unit(str(then["code"]), then.get("on") or link.key_date)
            if unit:
                t.iri(s, KHO + "parcelUnitThen", unit)
        if now.get("code"):
            unit = m.unit(str(now["code"]), now.get("on") or m.today.isoformat())
            if unit:
                t.iri(s, KHO + "parcelUnitNow", unit)
    elif link.kind == "official":
        t.lit(s, KHO + "officialPosition", _vi(f.get("position")))
        agency = f.get("agency") or {}
        name = str(agency.get("name") or "")
        province = (link.registry_id or "CB01")[2:4]
        found = m.agency(name, m.today.isoformat(), province) if name else None
        if not found and name and f.get("since"):
            found = m.agency(name, str(f["since"]), province)
        if found:
            t.iri(s, KHO + "officialAgency", found)
        elif name:
            t.lit(s, KHO + "officialAgencyName", _vi(name))
    elif link.kind == "agency":
        t.lit(s, KHO + "registryName", _vi(f.get("name")))
        if f.get("code"):
            t.lit(s, KHO + "registryId", text(str(f["code"])))
            t.iri(s, KHO + "linkTarget", to.agency(str(f["code"])))
    elif link.kind == "unit":
        t.lit(s, KHO + "registryName", _vi(f.get("name")))
        if f.get("code") and f.get("valid_from"):
            t.iri(s, KHO + "linkTarget", to.unit(str(f["code"]), str(f["valid_from"])))


def _vi(value: object) -> ox.Literal | None:
    return text(str(value), "vi") if value not in (None, "") else None


def _plain(value: object) -> ox.Literal | None:
    return text(str(value)) if value not in (None, "") else None


def note(
    link: Link, answer: Any, *, checked_at: str | None = None, since: str | None = None
) -> tuple[str, str]:
    """What went wrong and what to do; a citizen's number never in it. `since`: the facts kept
    from the check of that time (a registry error after a successful check)."""
    vi = answer.message_vi or (
        "Cơ sở dữ liệu không xác nhận định danh này; kiểm tra lại trên văn bản."
        if answer.status == "not-found"
        else "Không hỏi được cơ sở dữ liệu; chạy lại `kho registries verify` sau."
    )
    en = answer.message_en or (
        "The registry does not confirm this identifier; check it against the document."
        if answer.status == "not-found"
        else "The registry could not be asked; run `kho registries verify` again later."
    )
    if since:
        at, then = _when(checked_at), _when(since)
        vi = (
            f"Cơ sở dữ liệu không trả lời lúc {at}; các thông tin dưới đây là như đã xác minh "
            f"lúc {then}. {vi}"
        )
        en = f"The registry did not answer at {at}; the facts shown are as verified at {then}. {en}"
    if link.number:
        vi, en = vi.replace(link.number, "***"), en.replace(link.number, "***")
    return vi, en


def _when(moment: str | None) -> str:
    """ "2026-11-26T07:30:12Z" as "2026-11-26 07:30 UTC"."""
    if not moment:
        return "?"
    return moment[:16].replace("T", " ") + (" UTC" if moment.endswith(("Z", "+00:00")) else "")
