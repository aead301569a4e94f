"""`kho harvest units`: build or refresh the gazetteer, the agencies and the vocabulary graphs."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import pyoxigraph as ox

from harvesters import agencies, gazetteer
from harvesters.vn_units_source import read_reform
from repository.config import PROJECT_DIR, Settings
from repository.namespaces import Minter
from repository.store import Store
from repository.vocabulary import vocabulary_triples

CUSTODY_CSV = PROJECT_DIR / "mappings" / "custody.csv"


@dataclass
class HarvestReport:
    source: str
    graphs: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # size, added, removed
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return any(a or r for _, a, r in self.graphs.values())

    def text(self) -> str:
        lines = [f"Nguồn / source: vietnamadminunits {self.source}"]
        lines += [f"  {k}: {v:,}" for k, v in self.counts.items()]
        for g, (size, added, removed) in self.graphs.items():
            lines.append(f"  graph {g}: {size:,} triples (+{added:,} / -{removed:,})")
        lines.append(
            f"  {'đã cập nhật / updated' if self.changed else 'không đổi / unchanged'}"
            f" in {self.seconds:.1f} s"
        )
        return "\n".join(lines)


def harvest_units(
    store: Store, settings: Settings, progress: Callable[[str], None] = lambda _msg: None
) -> HarvestReport:
    """Rebuild the three graphs from the real data; writes only what changed (idempotent)."""
    start = time.monotonic()
    minter = Minter(settings.base_iri)
    progress("reading vietnamadminunits")
    reform = read_reform()
    progress("minting unit versions, events and transfers")
    gz = gazetteer.build(reform, minter)
    progress("minting agencies, succession and custody")
    ag = agencies.build(gz, minter, CUSTODY_CSV)
    report = HarvestReport(source=reform.version, counts=_counts(gz, ag))
    for name, triples in (
        ("vocabulary", vocabulary_triples()),
        ("gazetteer", gz.triples.triples),
        ("agencies", ag.triples.triples),
    ):
        progress(f"writing graph {name} ({len(triples):,} triples)")
        g = ox.NamedNode(minter.graph(name))
        added, removed = store.replace_graph(
            g.value, (ox.Quad(t.subject, t.predicate, t.object, g) for t in triples)
        )
        report.graphs[name] = (len(triples), added, removed)
    store.flush()
    report.seconds = time.monotonic() - start
    return report


def _counts(gz: gazetteer.Gazetteer, ag: agencies.Agencies) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for v in gz.versions():
        era = (
            "both"
            if v.valid_to is None
            and v.valid_from != gazetteer.REFORM_DAY
            and v.iri in {x.iri for x in gz.old.values()}
            else ("before" if v.valid_to else "after")
        )
        counts[f"units {v.level} {era}"] += 1
    counts["events"] = len(gz.events)
    counts["agencies"] = sum(len(k) for k in ag.by_unit.values())
    return dict(sorted(counts.items()))
