"""The ontology and code lists shipped in ontology/, as triples for the vocabulary graph."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox

from repository.config import PROJECT_DIR

ONTOLOGY_DIR = PROJECT_DIR / "ontology"
GENID = "https://w3id.org/kho/.well-known/genid/"


def vocabulary_files(directory: Path = ONTOLOGY_DIR) -> list[Path]:
    return sorted(directory.rglob("*.ttl"))


def vocabulary_triples(directory: Path = ONTOLOGY_DIR) -> list[ox.Triple]:
    """Every triple of every Turtle file under ontology/."""
    triples: list[ox.Triple] = []
    for path in vocabulary_files(directory):
        # Blank nodes get stable IRIs (in order of appearance), so that a re-harvest of
        # unchanged files writes nothing and the graph can be diffed with DELETE DATA.
        names: dict[str, ox.NamedNode] = {}

        def skolem(term: object, stem: str = path.stem, names: dict = names) -> object:
            if isinstance(term, ox.BlankNode):
                if term.value not in names:
                    names[term.value] = ox.NamedNode(f"{GENID}{stem}-{len(names) + 1}")
                return names[term.value]
            return term

        triples += [
            ox.Triple(skolem(q.subject), q.predicate, skolem(q.object))
            for q in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE)
        ]
    return triples
