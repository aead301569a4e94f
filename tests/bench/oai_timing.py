"""OAI-PMH response times for an anonymous harvester on a prepared store: p50/p95 of Identify,
the first ListIdentifiers page, a later page by resumption token, the first ListRecords oai_dc page
and GetRecord, through repository.oai.respond (the protocol core; the Flask layer adds little).

    python -m tests.bench.oai_timing --store /tmp/kho-oai-10k/store [--runs 10]

Not a `make bench` module (it needs a prepared store); bench_web measures OAI-PMH through the app.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from lxml import etree

OAI = "{http://www.openarchives.org/OAI/2.0/}"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[k]


def run(store_path: Path, runs: int = 10) -> dict[str, dict[str, float]]:
    from repository import access, oai
    from repository.namespaces import Minter
    from repository.oai_items import View
    from repository.store import open_store_read_only

    store = open_store_read_only(store_path)
    minter = Minter("https://kho.example.org/")
    view = View(store, minter, access.visible_graphs(store.named_graphs(), minter))

    def call(**args: str) -> etree._Element:
        provider = oai.Provider(view, b"bench-key", "http://localhost/oai", "kho@example.org")
        return etree.fromstring(oai.respond(provider, args.items()).body)

    first = call(verb="ListIdentifiers", metadataPrefix="oai_dc")
    token = first.find(f"{OAI}ListIdentifiers/{OAI}resumptionToken")
    assert token is not None and token.text, etree.tostring(first)[:400]
    second = call(verb="ListIdentifiers", resumptionToken=token.text)
    later = second.find(f"{OAI}ListIdentifiers/{OAI}resumptionToken")
    assert later is not None and later.text
    sample = first.findtext(f"{OAI}ListIdentifiers/{OAI}header/{OAI}identifier")
    cases = {
        "Identify": {"verb": "Identify"},
        "ListIdentifiers first page": {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"},
        "ListIdentifiers third page (token)": {
            "verb": "ListIdentifiers",
            "resumptionToken": later.text,
        },
        "ListRecords oai_dc first page": {"verb": "ListRecords", "metadataPrefix": "oai_dc"},
        "GetRecord oai_dc": {"verb": "GetRecord", "identifier": sample, "metadataPrefix": "oai_dc"},
    }
    out: dict[str, dict[str, float]] = {
        "_": {"listSize": float(token.get("completeListSize") or 0)}
    }
    for name, args in cases.items():
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            root = call(**args)
            times.append((time.perf_counter() - start) * 1000)
            assert root.find(f"{OAI}error") is None, etree.tostring(root)[:400]
        out[name] = {
            "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(_percentile(times, 0.95), 1),
        }
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--store", required=True)
    p.add_argument("--runs", type=int, default=10)
    a = p.parse_args()
    print(json.dumps(run(Path(a.store), a.runs), indent=1))


if __name__ == "__main__":
    main()
