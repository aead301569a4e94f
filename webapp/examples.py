"""Example queries for the SPARQL workbench; tests run each against the harvested store."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Example:
    key: str
    vi: str
    en: str
    query: str


EXAMPLES = [
    Example(
        "truc-bach",
        "Phường Trúc Bạch đã trở thành gì",
        "What Phường Trúc Bạch became",
        """\
SELECT ?successor ?name ?portion ?isDefault ?event ?date WHERE {
  ?old skos:notation "00004" ; rico:endDate "2025-06-30"^^xsd:date .
  ?t kho:fromUnit ?old ; kho:toUnit ?successor ; kho:portion ?portion ;
     kho:isDefaultSuccessor ?isDefault .
  ?event kho:transfer ?t ; dct:date ?date .
  ?successor skos:prefLabel ?name FILTER(lang(?name) = "vi")
}""",
    ),
    Example(
        "ba-dinh",
        "Phường Ba Đình mới hình thành từ đâu",
        "What the new Phường Ba Đình came from",
        """\
SELECT ?old ?name ?district ?portion ?isDefault WHERE {
  ?new skos:notation "00004" ; rico:beginningDate "2025-07-01"^^xsd:date .
  ?t kho:toUnit ?new ; kho:fromUnit ?old ; kho:portion ?portion ;
     kho:isDefaultSuccessor ?isDefault .
  ?old skos:prefLabel ?name FILTER(lang(?name) = "vi")
  OPTIONAL { ?old rico:isOrWasContainedBy/skos:prefLabel ?district
             FILTER(lang(?district) = "vi") }
} ORDER BY ?name""",
    ),
    Example(
        "ended",
        "Đơn vị của Hà Nội kết thúc ngày 01/7/2025, đơn vị kế thừa và phần lãnh thổ",
        "Hà Nội units ended on 2025-07-01, their successors and portions",
        """\
SELECT ?old ?oldName ?new ?newName ?portion ?isDefault WHERE {
  ?hanoi skos:notation "01" ; kho:level khoc:level-province .
  ?old rico:endDate "2025-06-30"^^xsd:date ; rico:isOrWasContainedBy+ ?hanoi ;
       skos:prefLabel ?oldName FILTER(lang(?oldName) = "vi")
  ?t kho:fromUnit ?old ; kho:toUnit ?new ; kho:portion ?portion ;
     kho:isDefaultSuccessor ?isDefault .
  ?new skos:prefLabel ?newName FILTER(lang(?newName) = "vi")
} ORDER BY ?oldName ?newName""",
    ),
    Example(
        "hanoi-126",
        "126 đơn vị cấp xã của Hà Nội sau sắp xếp",
        "The 126 commune-level units of Hà Nội after the reform",
        """\
SELECT ?unit ?code ?name ?type WHERE {
  ?hanoi skos:notation "01" ; kho:level khoc:level-province .
  ?unit rico:isOrWasContainedBy ?hanoi ; kho:level khoc:level-commune ;
        rico:beginningDate "2025-07-01"^^xsd:date ; skos:notation ?code ;
        skos:prefLabel ?name ; rico:hasOrHadPlaceType/skos:prefLabel ?type
  FILTER(lang(?name) = "vi" && lang(?type) = "vi")
} ORDER BY ?code""",
    ),
    Example(
        "ubnd-successors",
        "Cơ quan kế thừa UBND phường Điện Biên (phường bị chia)",
        "Agencies succeeding the People's Committee of Phường Điện Biên (a divided ward)",
        """\
SELECT ?agency ?name ?relation ?successor ?successorName WHERE {
  ?ward skos:notation "00019" ; rico:endDate "2025-06-30"^^xsd:date .
  ?agency rico:hasOrHadJurisdiction ?ward ; kho:agencyKind khoc:agency-ubnd ;
          skos:prefLabel ?name FILTER(lang(?name) = "vi")
  ?agency ?relation ?successor .
  FILTER(?relation IN (rico:hasSuccessor, rico:wasMergedInto, rico:wasSplitInto))
  ?successor skos:prefLabel ?successorName FILTER(lang(?successorName) = "vi")
} ORDER BY ?successorName ?relation""",
    ),
    Example(
        "district-custody",
        "Các quận, huyện của Hà Nội và nơi giữ tài liệu UBND của chúng",
        "Districts of Hà Nội and who holds their People's Committee records",
        """\
SELECT ?district ?name ?fonds ?holder ?holderName ?since WHERE {
  ?hanoi skos:notation "01" ; kho:level khoc:level-province .
  ?district kho:level khoc:level-district ; rico:isOrWasContainedBy ?hanoi ;
            skos:prefLabel ?name FILTER(lang(?name) = "vi")
  ?agency rico:hasOrHadJurisdiction ?district ; kho:agencyKind khoc:agency-ubnd .
  ?fonds rico:hasCreator ?agency .
  ?holding a rico:RecordResourceHoldingRelation ; rico:relationHasTarget ?fonds ;
           rico:relationHasSource ?holder ; rico:beginningDate ?since .
  ?holder skos:prefLabel ?holderName FILTER(lang(?holderName) = "vi")
} ORDER BY ?name""",
    ),
    Example(
        "construct-ba-dinh",
        "Đồ thị: Phường Ba Đình mới và các chuyển giao",
        "Graph: the new Phường Ba Đình and its transfers (CONSTRUCT)",
        """\
CONSTRUCT { ?new ?p ?o . ?t ?tp ?to . } WHERE {
  ?new skos:notation "00004" ; rico:beginningDate "2025-07-01"^^xsd:date .
  { ?new ?p ?o } UNION { ?t kho:toUnit ?new ; ?tp ?to }
}""",
    ),
    Example(
        "ask-hoan-kiem",
        "Quận Hoàn Kiếm còn hiệu lực sau 01/7/2025 không?",
        "Is Quận Hoàn Kiếm still valid after 2025-07-01? (ASK)",
        """\
ASK {
  ?d skos:prefLabel "Quận Hoàn Kiếm"@vi .
  FILTER NOT EXISTS { ?d rico:endDate ?end FILTER(?end < "2025-07-01"^^xsd:date) }
}""",
    ),
]
