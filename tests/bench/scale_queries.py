"""The fixed query set of the scale benchmark, written once as Kho's query layer sends it (prefixes
from repository.namespaces; the dataset = the graphs the anonymous reader sees), with the bound
values that vary from run to run so no engine's cache answers a repeated query.

Q1 lookup by identifier · Q2 records of a new ward's predecessors · Q3 hồ sơ per retention period ·
Q4 provenance chain of a hồ sơ · Q5 units dissolved on 2025-07-01 with their successors ·
Q6 full-text search (the search index on Kho; CONTAINS over titles in SPARQL elsewhere).
"""

from __future__ import annotations

import random

from webapp.examples import example

Q1 = """\
SELECT ?r ?title ?issued WHERE {
  ?r rico:identifier "{id}" .
  OPTIONAL { ?r rico:title|rico:scopeAndContent ?title }
  OPTIONAL { ?r dct:issued|rico:beginningDate ?issued }
}"""

Q2_TEMPLATE = example("records-of-predecessors").query  # type: ignore[union-attr]
Q2 = Q2_TEMPLATE.replace('"09988"', '"{code}"')

# Q3 as Kho writes whole-archive counts (repository/record_counts.py): each pattern a sub-select
# with a LIMIT no store reaches, so Oxigraph reads it once and joins in memory instead of looking
# up every binding in every graph of the reader's dataset (100k: 870 ms -> 60 ms, same rows).
Q3 = """\
SELECT ?period ?label ?hoSo WHERE {
  { SELECT ?period (COUNT(?hoso) AS ?hoSo) WHERE {
      { SELECT ?hoso ?period WHERE { ?hoso kho:maintenance ?period } LIMIT 1000000000000000 }
      { SELECT ?hoso ?start WHERE { ?hoso rico:beginningDate ?start
          FILTER(?start >= "{year}-01-01"^^xsd:date) } LIMIT 1000000000000000 }
      { SELECT ?hoso WHERE { ?hoso a rico:RecordSet } LIMIT 1000000000000000 }
    } GROUP BY ?period }
  OPTIONAL { ?period skos:prefLabel ?label FILTER(lang(?label) = "vi") }
} ORDER BY ?period"""

# Q3 as Kho sends it to Virtuoso (record_counts.hash_joins is False there): plain patterns, which
# Virtuoso plans itself; the sub-select shape above took it 17 s at 10k instead of tens of ms.
Q3_PLAIN = """\
SELECT ?period ?label ?hoSo WHERE {
  { SELECT ?period (COUNT(?hoso) AS ?hoSo) WHERE {
      ?hoso a rico:RecordSet ; kho:maintenance ?period ; rico:beginningDate ?start
      FILTER(?start >= "{year}-01-01"^^xsd:date)
    } GROUP BY ?period }
  OPTIONAL { ?period skos:prefLabel ?label FILTER(lang(?label) = "vi") }
} ORDER BY ?period"""

Q4 = example("provenance").query.replace(  # type: ignore[union-attr]
    '"H01.04936.DTN.2021.51"', '"{id}"'
)

Q5 = """\
SELECT ?old ?oldName ?new ?newName ?portion ?isDefault WHERE {
  ?province skos:notation "{code}" ; kho:level khoc:level-province .
  ?old rico:endDate "2025-06-30"^^xsd:date ; rico:isOrWasContainedBy+ ?province ;
       skos:prefLabel ?oldName FILTER(lang(?oldName) = "vi")
  ?t kho:fromUnit ?old ; kho:toUnit ?new ; kho:portion ?portion ;
     kho:isDefaultSuccessor ?isDefault .
  ?new skos:prefLabel ?newName FILTER(lang(?newName) = "vi")
} ORDER BY ?oldName ?newName"""

# What a user writes on a SPARQL endpoint for "records about <words>": every match, no index.
Q6 = """\
SELECT ?r ?title WHERE {
  { ?r a rico:RecordSet ; rico:title ?title }
  UNION { ?r a rico:Record ; rico:scopeAndContent ?title }
  FILTER(CONTAINS(LCASE(STR(?title)), "{word}"))
}"""

NAMES = {
    "Q1": "lookup by identifier (docCode / fileCode)",
    "Q2": "records of the predecessors of a new ward",
    "Q3": "hồ sơ per retention period (opened since a year)",
    "Q4": "provenance chain of a hồ sơ",
    "Q5": "units dissolved on 2025-07-01 with successors (a province)",
    "Q6": "full-text search",
}

WORDS = [  # Vietnamese words of the generated titles and subjects, with their accents
    "công tác",
    "kế hoạch",
    "đất đai",
    "xây dựng",
    "ngân sách",
    "giáo dục",
    "dân số",
    "an ninh",
    "y tế",
    "văn hóa",
    "giao thông",
    "môi trường",
]


def bindings(store: object, graphs: list[str], runs: int, seed: int = 6) -> dict[str, list[str]]:
    """`runs` full query texts per query (SPARQL only; Q6 also its words), bound to values drawn
    from the store so every run asks about a different record, ward, hồ sơ or province."""
    rng = random.Random(seed)

    def pick(sparql: str, key: str) -> list[str]:
        values = sorted({str(r[key]) for r in store.select(sparql, graphs=graphs)})  # type: ignore[attr-defined]
        if not values:
            raise RuntimeError(f"no values for {key} in the store: {sparql}")
        rng.shuffle(values)
        return [values[i % len(values)] for i in range(runs)]

    docs = pick(
        "SELECT ?id WHERE { ?r a rico:Record ; rico:identifier ?id ; kho:maintenance ?m }", "id"
    )
    hoso = pick(
        "SELECT ?id WHERE { ?h a rico:RecordSet ; rico:identifier ?id ; kho:maintenance ?m }",
        "id",
    )
    ids = [docs[i] if i % 2 else hoso[i] for i in range(runs)]
    wards = pick(
        """SELECT ?code WHERE { ?ward skos:notation ?code ;
             rico:beginningDate "2025-07-01"^^xsd:date .
           ?t kho:toUnit ?ward ; kho:fromUnit ?p . ?rec kho:adminUnit ?p }""",
        "code",
    )
    provinces = pick(
        """SELECT ?code WHERE { ?p kho:level khoc:level-province ; skos:notation ?code .
           ?old rico:endDate "2025-06-30"^^xsd:date ; rico:isOrWasContainedBy ?p }""",
        "code",
    )
    provinces = ["01", *provinces[: runs - 1]]  # Hà Nội first
    years = [str(2000 + (i * 7) % 25) for i in range(runs)]
    words = [WORDS[i % len(WORDS)] for i in range(runs)]
    return {
        "Q1": [Q1.replace("{id}", v) for v in ids],
        "Q2": [Q2.replace("{code}", v) for v in wards],
        "Q3": [Q3.replace("{year}", v) for v in years],
        "Q3-plain": [Q3_PLAIN.replace("{year}", v) for v in years],
        "Q4": [Q4.replace("{id}", v) for v in hoso],
        "Q5": [Q5.replace("{code}", v) for v in provinces],
        "Q6": [Q6.replace("{word}", w) for w in words],
        "words": words,
    }


def with_prefixes(sparql: str) -> str:
    from repository.namespaces import sparql_prefixes

    return sparql_prefixes() + sparql
