"""The load test's clients: closed-loop user sessions against a running `kho serve`, in a process
of their own (python -m tests.bench.load_client BASE_URL --clients 20 --seconds 60 ...).

Each client is a requests.Session that signs in through the real /login form (researchers) or
stays anonymous, then asks for pages, searches, JSON-LD, SPARQL and OAI-PMH with no think time.
What to ask for is discovered from the server itself before the measured window (its API, its
browse lists, its search); warm-up requests are not recorded. Every measured request is written
as (kind, status, milliseconds, end time, and the X-Kho-Cache header: hit, miss, or "" for a
route whose answers are not kept); a status of 0 is a connection error or a timeout. The
process's own CPU time and that of the watched process trees (the server and its SPARQL
workers, the triplestore server, an ingest) over the measured window go beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import requests

TIMEOUT_S = 60.0
JSON = {"Accept": "application/json"}
# Page views (HTML) and data requests, with their weights in a session's mix.
PAGES = {
    "home": 8,
    "browse": 5,
    "browse-list": 4,
    "search": 16,
    "record": 14,
    "hoso": 6,
    "unit": 7,
    "agency": 4,
}
DATA = {"jsonld": 10, "api": 6, "sparql": 6, "oai": 3, "not-found": 2}
# Search words as readers type them, with and without their accents.
WORDS = [
    "công tác",
    "cong tac",
    "đất đai",
    "dat dai",
    "chuyển đổi số",
    "chuyen doi so",
    "cải cách hành chính",
    "ngân sách",
    "ngan sach",
    "quy hoạch",
    "Ba Đình",
    "ba dinh",
    "Hoàn Kiếm",
    "báo cáo",
    "nghị quyết",
    "quyet dinh",
]
EXAMPLES = (  # the workbench's examples a researcher would click
    "records-of-predecessors",
    "truc-bach",
    "ba-dinh",
    "levels",
    "hanoi-126",
    "construct-ba-dinh",
    "ask-hoan-kiem",
)


def plain(text: str) -> str:
    """Vietnamese without its accents, as typed on a keyboard without them."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


@dataclass
class Targets:
    """What the sessions ask for, discovered from the server before the measured window."""

    public: list[str]  # record and hồ sơ paths an anonymous reader may see
    restricted: list[str]  # paths only a signed-in researcher sees (404 to anonymous)
    units: list[str]
    agencies: list[str]
    lists: list[str]  # browse-list links into the search (/records?unit=…)
    words: list[str]
    queries: list[str]

    def records(self, signed_in: bool) -> list[str]:
        return self.public + (self.restricted if signed_in else [])


def _path(base_iri_path: str) -> str:
    """/id/... of an IRI (whatever its host: the server's base IRI is not the test's URL)."""
    return "/id/" + base_iri_path.split("/id/", 1)[1]


def discover(base: str, researcher: requests.Session) -> Targets:
    """Record, hồ sơ, unit and agency paths and search links, read from the app itself."""
    anon = requests.Session()
    public = _members(anon, base)
    seen = _members(researcher, base)
    restricted = sorted(set(seen) - set(public))
    units, agencies, lists = [], [], []
    for name in ("units-new", "units-old", "agencies", "years", "types"):
        got = anon.get(f"{base}/browse/{name}", headers=JSON, timeout=TIMEOUT_S)
        got.raise_for_status()
        for row in got.json()["sections"][name][:40]:
            lists.append(row["records"])
            if row.get("page") and name.startswith("units"):
                units.append(_path(row["page"]))
            elif row.get("page") and name == "agencies":
                agencies.append(_path(row["page"]))
    words = list(WORDS)
    titles = anon.get(f"{base}/records", headers=JSON, timeout=TIMEOUT_S)
    for hit in titles.json().get("hits", [])[:20]:
        for word in str(hit.get("title") or "").split()[:6]:
            if len(word) > 3:
                words += [word, plain(word)]
    from webapp.examples import example

    queries = [e.query for e in (example(k) for k in EXAMPLES) if e is not None]
    return Targets(public, restricted, units, agencies, lists, words, queries)


def _members(session: requests.Session, base: str) -> list[str]:
    paths: list[str] = []
    for page in (1, 2, 3):
        got = session.get(
            f"{base}/api/records", params={"per_page": 100, "page": page}, timeout=TIMEOUT_S
        )
        got.raise_for_status()
        members = got.json().get("member", [])
        paths += [_path(m["id"]) for m in members]
        if len(members) < 100:
            break
    return paths


def sign_in(base: str, name: str, password: str) -> requests.Session:
    """A session signed in through the real /login form (its CSRF token read from the form)."""
    session = requests.Session()
    page = session.get(f"{base}/login", timeout=TIMEOUT_S).text
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    form = {"name": name, "password": password, "csrf_token": token}
    got = session.post(f"{base}/login", data=form, allow_redirects=False, timeout=TIMEOUT_S)
    if got.status_code != 302:
        raise RuntimeError(f"sign-in of {name} failed: HTTP {got.status_code}")
    return session


@dataclass
class Client:
    """One user session's choice of requests: (kind, path, expected statuses)."""

    targets: Targets
    signed_in: bool
    rng: random.Random
    kinds: list[str] = field(default_factory=list)
    weights: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        mix = PAGES | DATA
        self.kinds, self.weights = list(mix), list(mix.values())

    def next(self) -> tuple[str, str, tuple[int, ...]]:
        t, rng = self.targets, self.rng
        kind = rng.choices(self.kinds, self.weights)[0]
        records = t.records(self.signed_in)
        ok = (200,)
        if kind == "home":
            return kind, "/", ok
        if kind == "browse":
            return kind, "/browse", ok
        if kind == "browse-list":
            return (
                kind,
                "/browse/" + rng.choice(["units-new", "units-old", "agencies", "years"]),
                ok,
            )
        if kind == "search":
            word = quote(rng.choice(t.words))
            shape = rng.random()
            if shape < 0.5:
                return kind, f"/records?q={word}", ok
            link = rng.choice(t.lists)
            return kind, link if shape < 0.75 else f"{link}&q={word}", ok
        if kind == "record":
            return kind, rng.choice([p for p in records if "/record/" in p] or records), ok
        if kind == "hoso":
            return kind, rng.choice([p for p in records if "/hoso/" in p] or records), ok
        if kind == "unit":
            return kind, rng.choice(t.units), ok
        if kind == "agency":
            return kind, rng.choice(t.agencies), ok
        if kind == "jsonld":
            return kind, rng.choice(records) + ".jsonld", ok
        if kind == "api":
            return kind, f"/api/records?per_page=20&page={rng.randint(1, 20)}", ok
        if kind == "sparql":
            return kind, f"/sparql?format=json&query={quote(rng.choice(t.queries))}", ok
        if kind == "oai":
            return kind, "/oai?verb=ListRecords&metadataPrefix=oai_dc", ok
        # deliberate 404s: a record that is not there, or one the anonymous reader may not see
        if t.restricted and not self.signed_in and rng.random() < 0.5:
            return kind, rng.choice(t.restricted), (404,)
        return kind, f"/id/record/KHONG-CO.{rng.randint(1, 10**6)}", (404,)


def tree_cpu(pid: int, own: bool = False) -> float:
    """CPU seconds (user + system) of a process and all its descendants (or, with `own`, of the
    process alone), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        ppid, utime, stime = int(fields[1]), int(fields[11]), int(fields[12])
        children.setdefault(ppid, []).append(int(entry.name))
        times[int(entry.name)] = (utime + stime) / ticks
    if own:
        return times.get(pid, 0.0)
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += times.get(p, 0.0)
        todo += children.get(p, [])
    return total


def run(
    base: str,
    clients: int,
    seconds: float,
    warm_up: float,
    users: list[tuple[str, str]],
    watch: dict[str, int],
    seed: int = 1,
) -> dict[str, object]:
    """Sign in, discover, warm up, then measure `seconds` of closed-loop load. `base` may list
    several servers of one repository (comma-separated): the sessions take turns among them."""
    bases = base.split(",")
    sessions: list[tuple[requests.Session, bool, str]] = []
    for i in range(max(clients, 2)):  # one client alone alternates an anonymous and a signed-in
        url = bases[(i // 2) % len(bases)]
        if i % 2 and users:
            name, password = users[(i // 2) % len(users)]
            sessions.append((sign_in(url, name, password), True, url))
        else:
            sessions.append((requests.Session(), False, url))
    signed = next(s for s, signed_in, _ in sessions if signed_in)
    targets = discover(bases[0], signed)
    records: list[tuple[str, int, float, float, str]] = []
    lock = threading.Lock()
    state = {"record": False, "stop": False}

    def worker(mine: list[tuple[requests.Session, bool, str]], rng: random.Random) -> None:
        picks = [(s, Client(targets, signed_in, rng), url) for s, signed_in, url in mine]
        while not state["stop"]:
            session, client, url = rng.choice(picks)
            kind, path, expected = client.next()
            start = time.perf_counter()
            try:
                got = session.get(url + path, timeout=TIMEOUT_S, allow_redirects=False)
                got.content  # noqa: B018 - read the whole body
                status, kept = got.status_code, got.headers.get("X-Kho-Cache", "")
            except requests.RequestException:
                status, kept = 0, ""
            ms = (time.perf_counter() - start) * 1000
            if status in expected and status != 200:
                status = 200  # a deliberate 404 that came as it should is a success
            elif status in (200, 301, 302, 303, 304) and 404 in expected:
                status = 299  # a page that should not be there: counted as an error below
            if state["record"]:
                with lock:
                    records.append((kind, status, ms, time.time(), kept))

    groups: list[list[tuple[requests.Session, bool, str]]] = [[] for _ in range(clients)]
    for i, s in enumerate(sessions):
        groups[i % clients].append(s)
    threads = [
        threading.Thread(target=worker, args=(g, random.Random(seed * 1000 + i)), daemon=True)
        for i, g in enumerate(groups)
    ]
    for t in threads:
        t.start()
    time.sleep(warm_up)
    cpu0 = {name: tree_cpu(pid) for name, pid in watch.items()}
    main0 = {name: tree_cpu(pid, own=True) for name, pid in watch.items()}
    own0, wall0 = time.process_time(), time.perf_counter()
    state["record"] = True
    time.sleep(seconds)
    state["record"] = False
    wall = time.perf_counter() - wall0
    own = time.process_time() - own0
    cpu = {name: tree_cpu(pid) - cpu0[name] for name, pid in watch.items()}
    main = {name: tree_cpu(pid, own=True) - main0[name] for name, pid in watch.items()}
    state["stop"] = True
    for t in threads:
        t.join(TIMEOUT_S + 5)
    return {
        "clients": clients,
        "signed_in": sum(1 for _, s, _ in sessions if s),
        "servers": len(bases),
        "sessions": len(sessions),
        "seconds": wall,
        "client_cpu_s": own,
        "cpu_s": cpu,  # each watched process with its children (the SPARQL workers)
        "own_cpu_s": main,  # the process alone
        "targets": {
            "public": len(targets.public),
            "restricted": len(targets.restricted),
            "units": len(targets.units),
            "agencies": len(targets.agencies),
            "queries": len(targets.queries),
        },
        "requests": records,
    }


def main(argv: list[str] | None = None, out: Callable[[str], object] = print) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument(
        "base", help="the server's URL (http://127.0.0.1:5000), or several, comma-separated"
    )
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--warm-up", type=float, default=10)
    p.add_argument("--user", action="append", default=[], help="NAME:PASSWORD (researchers)")
    p.add_argument("--watch", action="append", default=[], help="NAME=PID: CPU of its tree")
    p.add_argument("--out", required=True, help="where the JSON result goes")
    a = p.parse_args(argv)
    users = [tuple(u.split(":", 1)) for u in a.user]
    watch = {k: int(v) for k, v in (w.split("=", 1) for w in a.watch)}
    base = ",".join(u.rstrip("/") for u in a.base.split(","))
    result = run(base, a.clients, a.seconds, a.warm_up, users, watch)  # type: ignore[arg-type]
    Path(a.out).write_text(json.dumps(result), encoding="utf-8")
    out(f"{len(result['requests'])} requests in {result['seconds']:.1f} s")  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main())
