"""How Kho writes to a store on a SPARQL server (repository.store_sparql's SparqlEngine, which
these methods are part of).

Every write is ONE update request (DELETE DATA …; INSERT DATA …; the stamp), which Oxigraph server
applies all-or-nothing. A new graph (a harvest, `kho load`) goes by Graph Store Protocol POSTs of
50,000 quads and is dropped again if one fails (GSP was 1.7x faster than SPARQL Update on Oxigraph
server and 2.3x on Virtuoso, 50k quads). Each write's own request also inserts the bookkeeping
(store_sparql's module doc: the graph marks and the write and change stamps). Virtuoso's
quirks for writes (store_sparql's module doc lists them all): one DELETE {…} INSERT {…} WHERE {}
operation, chunks of 800 quads past its SQL size limit, and long literals by SPARQL instead of
its Graph Store.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from pathlib import Path

import pyoxigraph as ox
import requests

from repository.store_oxigraph import update_body
from repository.store_wire import ACCEPT_RESULTS, DURATION_ALIAS, XSD_DURATION, parse_answer

STORE_GRAPH = ox.NamedNode("https://w3id.org/kho/ns#storeGraph")
_STAMP = ox.NamedNode("https://w3id.org/kho/ns#writeStamp")
_CHANGE = ox.NamedNode("https://w3id.org/kho/ns#changeStamp")
_NAMED_GRAPH = ox.NamedNode("https://w3id.org/kho/ns#NamedGraph")
_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
CHUNK = 50_000  # quads per Graph Store Protocol POST of a bulk load
VIRTUOSO_CHUNK = 800  # quads per update request to Virtuoso (see _write_in_chunks)
LONG = 4_000  # characters: longer literals go to Virtuoso by SPARQL (see _post_graph)
STAMPS_KEPT = 10_000  # write stamps before they are folded into one


class ServerWrites:
    """The writing half of SparqlEngine, with the bookkeeping every write adds (stamps, graph
    marks); SparqlEngine gives the HTTP and reading methods declared here."""

    dialect: str
    query_url: str
    gsp_url: str
    timeout: float
    _graphs: list[str] | None

    def update(self, body: str) -> None:
        raise NotImplementedError

    def _send(self, method: str, url: str, **kwargs: object) -> requests.Response:
        raise NotImplementedError

    def named_graphs(self) -> list[str]:
        raise NotImplementedError

    def select(self, sparql: str, graphs: list[str] | None = None) -> ox.QuerySolutions:
        raise NotImplementedError

    def body(self, response: requests.Response) -> bytes:
        raise NotImplementedError

    def stamp(self) -> str | None:
        """Changes with every write: how many stamps the writes added, and the greatest; after
        "|" the same of the change stamps (writes that did more than add new ingest units)."""
        self._graphs = None  # another process may have added graphs too
        sparql = (
            f"SELECT ?p (COUNT(?x) AS ?n) (MAX(STR(?x)) AS ?m) WHERE {{ VALUES ?p {{ {_STAMP} "
            f"{_CHANGE} }} GRAPH {STORE_GRAPH} {{ {STORE_GRAPH} ?p ?x }} }} GROUP BY ?p"
        )
        seen = {
            str(row["p"].value): (int(row["n"].value), str(row["m"].value))  # type: ignore[union-attr]
            for row in self.select(sparql, [STORE_GRAPH.value])
            if row["p"] is not None and row["n"] is not None and row["m"] is not None
        }
        parts = []
        for predicate in (_STAMP, _CHANGE):
            n, greatest = seen.get(predicate.value, (0, ""))
            if n > STAMPS_KEPT:  # folded into a new one, in one operation: readers still notice
                pattern = f"GRAPH {STORE_GRAPH} {{ {STORE_GRAPH} {predicate} ?x }}"
                fresh = ox.Literal(uuid.uuid4().hex)
                new = f"GRAPH {STORE_GRAPH} {{ {STORE_GRAPH} {predicate} {fresh} }}"
                self.update(f"DELETE {{ {pattern} }} INSERT {{ {new} }} WHERE {{ {pattern} }}")
                n, greatest = 1, fresh.value
            parts.append(f"{n} {greatest}")
        return "|".join(parts)

    def adopt_graphs(self, under: str) -> list[str]:
        """Register the server's graphs under a prefix (and Kho's meta graph) as Kho's."""
        # Without dataset parameters: every graph the server holds, not only Kho's.
        response = self._send(
            "POST",
            self.query_url,
            data=[("query", "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")],
            headers={"Accept": ACCEPT_RESULTS},
            timeout=self.timeout,
        )
        rows = parse_answer(self.body(response), response.headers.get("Content-Type", ""), "SELECT")
        meta = "https://w3id.org/kho/ns#metaGraph"
        found = sorted(
            r["g"].value  # type: ignore[union-attr]
            for r in rows
            if r["g"] is not None and (r["g"].value.startswith(under) or r["g"].value == meta)
        )
        if found:
            self.update(update_body([], self._bookkeeping(found)))
        self._graphs = None
        return self.named_graphs()

    def _bookkeeping(self, graphs: Iterable[str], change: bool = True) -> list[ox.Quad]:
        """A new stamp (and a change stamp unless the write only added new ingest units) and the
        written graphs' marks, inserted by the write's own request.

        Stamps are only ever added (one small triple per write), so a write needs no DELETE of the
        old stamp: on Virtuoso, which commits each operation of a request on its own, a write
        stays one operation."""
        marks = [ox.Quad(ox.NamedNode(g), _TYPE, _NAMED_GRAPH, STORE_GRAPH) for g in set(graphs)]
        stamps = [ox.Quad(STORE_GRAPH, _STAMP, ox.Literal(uuid.uuid4().hex), STORE_GRAPH)]
        if change:
            stamps.append(ox.Quad(STORE_GRAPH, _CHANGE, ox.Literal(uuid.uuid4().hex), STORE_GRAPH))
        return [*stamps, *marks]

    def write(self, remove: list[ox.Quad], add: list[ox.Quad], *, only_added: bool = False) -> None:
        if not remove and not add:
            return
        graphs = {q.graph_name.value for q in add}  # type: ignore[attr-defined]
        add = add + self._bookkeeping(graphs, change=bool(remove) or not only_added)
        if self.dialect != "virtuoso":
            self.update(update_body(remove, add))  # one request: one transaction
        elif len(remove) + len(add) > VIRTUOSO_CHUNK:
            self._write_in_chunks(remove, add)
        elif remove:
            # One DELETE/INSERT operation: Virtuoso applies each operation of a request on its
            # own, so DELETE DATA; INSERT DATA could land half-way.
            body = update_body(remove, []).replace("DELETE DATA", "DELETE", 1)
            body += "\n" + update_body([], add).replace("INSERT DATA", "INSERT", 1)
            self.update(body + "\nWHERE {}")
        else:
            self.update(update_body([], add))
        self._graphs = None

    def _write_in_chunks(self, remove: list[ox.Quad], add: list[ox.Quad]) -> None:
        """Virtuoso compiles an update to SQL and refuses one past 10,000 lines (about 2,000
        quads): a big write goes in chunks, the stamp last, and a failure undoes the chunks
        already applied. Readers may see such a write half-way while it runs."""
        removed: list[ox.Quad] = []
        added: list[ox.Quad] = []
        try:
            for start in range(0, len(remove), VIRTUOSO_CHUNK):
                part = remove[start : start + VIRTUOSO_CHUNK]
                self.update(update_body(part, []))
                removed += part
            for start in range(0, len(add), VIRTUOSO_CHUNK):
                part = add[start : start + VIRTUOSO_CHUNK]
                self.update(update_body([], part))
                added += part
        except BaseException:
            for verb, quads in (("DELETE", added), ("INSERT", removed)):
                for start in range(0, len(quads), VIRTUOSO_CHUNK):
                    part = quads[start : start + VIRTUOSO_CHUNK]
                    self.update(
                        update_body(
                            part if verb == "DELETE" else [], part if verb == "INSERT" else []
                        )
                    )
            raise

    def new_graph(self, graph: str, quads: Iterable[ox.Quad]) -> None:
        triples = [ox.Triple(q.subject, q.predicate, q.object) for q in quads]
        try:
            for start in range(0, len(triples), CHUNK):
                self._post_graph(graph, triples[start : start + CHUNK])
        except BaseException:
            self.update(f"DROP SILENT GRAPH {ox.NamedNode(graph)}")
            raise
        self.update(update_body([], self._bookkeeping([graph])))
        self._graphs = None

    def _post_graph(self, graph: str, triples: list[ox.Triple]) -> None:
        if self.dialect == "virtuoso":
            # Virtuoso's Graph Store sniffs the body's type from its start and calls a body
            # whose first triples hold a long literal (OCR text) text/plain; those go by SPARQL.
            long = [
                t
                for t in triples
                if isinstance(t.object, ox.Literal) and len(t.object.value) > LONG
            ]
            if long:
                g = ox.NamedNode(graph)
                self._write_in_chunks(
                    [], [ox.Quad(t.subject, t.predicate, t.object, g) for t in long]
                )
                triples = [
                    t
                    for t in triples
                    if not (isinstance(t.object, ox.Literal) and len(t.object.value) > LONG)
                ]
            if not triples:
                return
        body = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
        params = {"graph": graph}
        kind = "application/n-triples"
        if self.dialect == "virtuoso":
            body = body.replace(f"<{XSD_DURATION}>".encode(), f"<{DURATION_ALIAS}>".encode())
            params, kind = {"graph-uri": graph}, "text/turtle; charset=utf-8"  # N-Triples ⊂ Turtle
        elif self.dialect == "oxigraph":
            # A new graph is dropped again if a chunk fails: no transaction needed, and Oxigraph
            # server loads 1.7x faster without one (measured, 50k quads).
            params["no_transaction"] = ""
        self._send(
            "POST", self.gsp_url, params=params, data=body, headers={"Content-Type": kind}
        ).close()

    def load_ntriples(self, text: str, graph: str) -> None:
        self.new_graph(
            graph,
            (
                ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(graph))
                for t in ox.parse(text, format=ox.RdfFormat.N_TRIPLES)
            ),
        )

    def load_dump(self, path: Path) -> None:
        """Each graph of the dump POSTed in chunks; graphs new to the store are dropped again
        if a request fails (the Graph Store Protocol has no transaction across requests)."""
        by_graph: dict[str, list[ox.Triple]] = {}
        for q in ox.parse(path=str(path), format=ox.RdfFormat.N_QUADS):
            by_graph.setdefault(q.graph_name.value, []).append(q.triple)  # type: ignore[attr-defined]
        existing = set(self.named_graphs())
        done: list[str] = []
        try:
            for graph, triples in by_graph.items():
                if graph == STORE_GRAPH.value:
                    continue
                done.append(graph)
                for start in range(0, len(triples), CHUNK):
                    self._post_graph(graph, triples[start : start + CHUNK])
        except BaseException:
            for graph in done:
                if graph not in existing:
                    self.update(f"DROP SILENT GRAPH {ox.NamedNode(graph)}")
            raise
        self.update(update_body([], self._bookkeeping(done)))
        self._graphs = None
