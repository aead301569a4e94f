"""Parts of bench_registries: the store with registry links, the registry simulator and Kho's web
app in processes of their own, and the measurements that need no store (lookups, OAI pages).

Children run as `python -m tests.bench.registry_parts MODE --work DIR [...]` and print one JSON
line: each has its own peak memory, and Oxigraph's lock on a store allows one writer per process.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
TODAY = "2026-11-26"
TOKEN = "kho-demo-token"
REGISTRY_COLUMNS = {  # TT 05/2025 headers (mappings/tt05-2025.toml) -> demo_registry kinds
    "maSoDoanhNghiep": "enterprise",
    "thuaDat": "land",
    "soDinhDanh": "citizen",
    "maCanBo": "official",
}


# -- processes ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def process(args: list[str], ready: str, timeout: float = 180) -> Iterator[str]:
    """A server process (`python ARGS`) on a free port; yields its base URL once GET `ready`
    (a path) answers, and stops it afterwards."""
    port = free_port()
    argv = [sys.executable, *[a.replace("{port}", str(port)) for a in args]]
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{' '.join(args)} ended: {proc.stderr.read().decode()[-800:]}")  # type: ignore[union-attr]
            try:
                if requests.get(url + ready, timeout=60).status_code < 500:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{' '.join(args)} did not answer {ready} in {timeout:.0f} s")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def simulator() -> Iterator[str]:
    """The registry simulator in its own process, its own rate limit off, today = TODAY."""
    config = json.dumps({"rate_limit": 0, "today": TODAY})
    args = ["-m", "harvesters.registry_sim", "--port", "{port}", "--config", config]
    with process(args, "/_sim/config") as url:
        # the first registry request loads the real units (about a second): not measured
        requests.get(f"{url}/dat-dai/v1/units/00004?on=2019-03-05", headers=_auth(), timeout=60)
        yield url


@contextmanager
def kho_web(work: Path) -> Iterator[str]:
    """Kho's web app (waitress, 4 threads) on the store of `work`; yields its /oai URL."""
    args = ["-m", "tests.bench.registry_parts", "serve", "--work", str(work), "--port", "{port}"]
    with process(args, "/oai?verb=Identify") as url:
        yield url + "/oai"


def child(mode: str, work: Path, **options: object) -> dict:
    """Run `python -m tests.bench.registry_parts MODE` and return the JSON it prints."""
    argv = [sys.executable, "-m", "tests.bench.registry_parts", mode, "--work", str(work)]
    for name, value in options.items():
        argv += [f"--{name}", str(value)]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{mode} failed: {done.stderr[-1500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def settings(work: Path, url: str = "http://127.0.0.1:9", cache: str = "cache") -> object:
    """Settings of the bench's data directory: registries at `url`, Kho's rate limit off."""
    from tests.registry_sim_server import sim_settings

    data = work / "data"
    return sim_settings(
        url, data, registry_rate=0, registry_cache_path=data / f"registry-{cache}.sqlite3"
    )


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- the store ----------------------------------------------------------------------------------


def add_registry_columns(sheet: Path, records: int, seed: int) -> dict[str, int]:
    """Add the registry columns to bench_ingest's sheet, filled as the demo batches fill them
    (harvesters/demo_registry.py) from the same specimens; values per kind."""
    from harvesters import demo_registry as dr
    from harvesters.specimens import random_specs

    specs = iter(random_specs(random.Random(seed), records))  # the sheet's documents, in order
    rng = random.Random(seed + 1)
    with sheet.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    rows[0] += list(REGISTRY_COLUMNS)
    counts = dict.fromkeys(REGISTRY_COLUMNS.values(), 0)
    hoso: list[list[str]] = []  # the current hồ sơ row, then its documents
    groups: list[list[list[str]]] = []
    for row in rows[1:]:
        if row[0]:
            hoso = [row]
            groups.append(hoso)
        else:
            hoso.append(row)
    count = 0  # documents so far, as demo_batch counts them
    for n, (head, *docs) in enumerate(groups):
        specs_here = [next(specs) for _ in docs]
        cols = dr.hoso_columns(specs_here, rng, n)
        head += [cols.get(kind, "") for kind in REGISTRY_COLUMNS.values()]
        for row, spec in zip(docs, specs_here, strict=True):
            count += 1
            values = dr.doc_columns(spec, rng, count)
            row += [values.get(kind, "") for kind in REGISTRY_COLUMNS.values()]
        for row in (head, *docs):
            for kind, cell in zip(REGISTRY_COLUMNS.values(), row[-4:], strict=True):
                counts[kind] += len([v for v in cell.split(";") if v.strip()])
    with sheet.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return counts


def build(work: Path, records: int) -> dict:
    """A copy of the harvested store plus one metadata-only batch of generated records with
    registry columns, hồ sơ modes about 60/30/10 % public/conditional/secret."""
    from repository.ingest import ingest_batch
    from repository.store import open_store, open_store_read_only
    from tests.bench.bench_ingest import harvested_store, write_sheet
    from tests.bench.bench_web import set_modes

    s = settings(work)
    source = harvested_store(work)
    open_store_read_only(source).backup(Path(s.store_path))  # type: ignore[attr-defined]
    batch = work / "batch"
    write_sheet(batch, records, seed=11)
    values = add_registry_columns(batch / "bang-ke.csv", records, seed=11)
    modes = set_modes(batch / "bang-ke.csv")
    store = open_store(s.store_path)  # type: ignore[attr-defined]
    start = time.perf_counter()
    report = ingest_batch(batch, store, s, jobs=2, ocr=False, metadata_only=True)  # type: ignore[arg-type]
    links = store.select(
        "SELECT ?kind (COUNT(DISTINCT ?l) AS ?n) WHERE { ?l a kho:RegistryReference ; "
        "kho:refKind ?kind } GROUP BY ?kind"
    )
    return {
        "records": report.hoso_added + report.docs_committed,
        "rejected": len(report.rejected),
        "ingest_s": round(time.perf_counter() - start, 1),
        "values": values,
        "modes": modes,
        "links": {str(r["kind"]): int(str(r["n"])) for r in links},
    }


# -- registry lookups -----------------------------------------------------------------------------


def _auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}


def identifiers(n: int, seed: int = 3) -> dict[str, list]:
    """n well-formed identifiers per registry, as the demo batches make them."""
    from harvesters import specimen_text as st
    from repository.identifiers import ParcelKey

    rng = random.Random(seed)
    old, _ = st.hanoi_units()
    communes = sorted(u.code for u in old if u.level == "commune")
    days = [f"{y}-{m:02d}-15" for y in range(2009, 2025) for m in (3, 9)]
    return {
        "enterprise": [st.enterprise_code(rng) for _ in range(n)],
        "population": [st.citizen_id(rng) for _ in range(n)],
        "land": [
            ParcelKey(
                commune=rng.choice(communes),
                sheet=str(rng.randint(1, 150)),
                parcel=str(rng.randint(1, 3000)),
                on=rng.choice(days),
            )
            for _ in range(n)
        ],
        "officials": [f"CB01-{rng.randint(1, 9000):06d}" for _ in range(n)],
    }


def bare(url: str, registry: str) -> Callable[[requests.Session, object], bool]:
    """The baseline's request for one identifier: the registry's URL, the JSON read, found?"""
    paths = {"population": "dan-cu", "land": "dat-dai", "enterprise": "doanh-nghiep"}
    base = f"{url}/{paths.get(registry, 'can-bo')}/v1"

    def ask(session: requests.Session, ident: object) -> bool:
        if registry == "population":
            r = session.post(f"{base}/citizens/verify", json={"number": ident}, timeout=10)
        elif registry == "land":
            k = ident
            params = {"commune": k.commune, "sheet": k.sheet, "parcel": k.parcel, "on": k.on}  # type: ignore[attr-defined]
            r = session.get(f"{base}/parcels", params=params, timeout=10)
        elif registry == "enterprise":
            r = session.get(f"{base}/enterprises/{ident}", timeout=10)
        else:
            r = session.get(f"{base}/officials/{ident}", timeout=10)
        body = r.json()
        return r.status_code == 200 and body.get("exists", True) is not False

    return ask


def kho_ask(reg: object, registry: str) -> Callable[[object], str]:
    method = {"population": "citizen", "land": "parcel", "officials": "official"}
    return getattr(reg, method.get(registry, registry))


def lookups(url: str, work: Path, n: int) -> dict[str, dict]:
    """Per registry: the bare loop, Kho cold (empty cache) and Kho cached, over the same n
    identifiers; half of them bare first, half Kho first (so neither gains from the other)."""
    from harvesters.registries import Registries

    out: dict[str, dict] = {}
    reg = Registries(settings(work, url, cache="lookups"))  # type: ignore[arg-type]
    session = requests.Session()
    session.headers.update(_auth())
    try:
        for registry, ids in identifiers(n).items():
            ask, kho = bare(url, registry), kho_ask(reg, registry)
            times = {"bare": 0.0, "cold": 0.0}
            found = {"bare": 0, "kho": 0}
            half = len(ids) // 2
            for part, order in ((ids[:half], ("bare", "cold")), (ids[half:], ("cold", "bare"))):
                for who in order:
                    start = time.perf_counter()
                    if who == "bare":
                        found["bare"] += sum(ask(session, i) for i in part)
                    else:
                        found["kho"] += sum(kho(i).status == "verified" for i in part)  # type: ignore[attr-defined]
                    times[who] += time.perf_counter() - start
            start = time.perf_counter()
            cached = [kho(i) for i in ids]
            times["cached"] = time.perf_counter() - start
            assert all(c.from_cache for c in cached), registry  # type: ignore[attr-defined]
            out[registry] = {"n": len(ids), "found": found, **times}
        out["_stats"] = reg.stats
    finally:
        reg.close()
        session.close()
    return out


# -- OAI-PMH pages --------------------------------------------------------------------------------


def bare_oai(url: str, prefix: str, spec: str | None = None) -> dict:
    """ListRecords (of set `spec`) to the end with requests + lxml, nothing else: records,
    pages, seconds."""
    from lxml import etree

    oai = "{http://www.openarchives.org/OAI/2.0/}"
    params = {"verb": "ListRecords", "metadataPrefix": prefix}
    if spec:
        params["set"] = spec
    records = pages = 0
    start = time.perf_counter()
    with requests.Session() as session:
        while True:
            root = etree.fromstring(session.get(url, params=params, timeout=300).content)
            pages += 1
            records += len(root.findall(f"{oai}ListRecords/{oai}record"))
            token = root.findtext(f"{oai}ListRecords/{oai}resumptionToken")
            if not token:
                break
            params = {"verb": "ListRecords", "resumptionToken": token}
    return {"records": records, "pages": pages, "seconds": time.perf_counter() - start}


# -- children -------------------------------------------------------------------------------------


def _verify(work: Path, url: str, cache: str, write: bool) -> dict:
    """`kho registries verify` over every link (write) or the same lookups alone (not write)."""
    from concurrent.futures import ThreadPoolExecutor

    from harvesters.registries import Registries
    from repository.registry_verify import ask, read_links, verify
    from repository.store import open_store

    s = settings(work, url, cache)
    store = open_store(s.store_path)  # type: ignore[attr-defined]
    start = time.perf_counter()
    with Registries(s) as reg:  # type: ignore[arg-type]
        if write:
            report = verify(store, s, reg)  # type: ignore[arg-type]
            links, cached = report.links, report.from_cache
            counts = report.counts
        else:
            found = read_links(store, s)  # type: ignore[arg-type]
            read_s = time.perf_counter() - start
            counts = {}
            with ThreadPoolExecutor(max_workers=4) as pool:  # as verify() asks
                answers = []
                for i in range(0, len(found), 100):
                    chunk = found[i : i + 100]
                    answers += list(pool.map(lambda x: ask(reg, x), chunk))
            links, cached = len(found), sum(a.from_cache for a in answers)
        stats = reg.stats
    result = {"links": links, "seconds": time.perf_counter() - start, "from_cache": cached}
    if not write:
        result["read_s"] = read_s
    return result | {"counts": counts, "stats": stats, "peak_mb": peak_mb()}


def _serve(work: Path, port: int) -> None:
    import logging

    import waitress

    import webapp

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    waitress.serve(webapp.create_app(settings(work)), host="127.0.0.1", port=port, threads=4)  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("mode", choices=["build", "verify", "lookups-only", "serve"])
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--records", type=int, default=10_000)
    p.add_argument("--url", default="")
    p.add_argument("--cache", default="cache")
    p.add_argument("--port", type=int, default=0)
    args = p.parse_args(argv)
    if args.mode == "serve":
        _serve(args.work, args.port)
        return
    if args.mode == "build":
        result = build(args.work, args.records) | {"peak_mb": peak_mb()}
    else:
        result = _verify(args.work, args.url, args.cache, write=args.mode == "verify")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
