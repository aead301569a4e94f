"""Example queries for the SPARQL workbench, each for one kind of user; tests run each against the
demo repository as an archivist and expect rows."""

from __future__ import annotations

from dataclasses import dataclass

# Who an example serves: (Vietnamese, English).
USERS = {
    "administrator": ("Quản trị viên", "Administrators"),
    "researcher": ("Nhà nghiên cứu", "Researchers"),
    "archivist": ("Lưu trữ viên", "Archivists"),
    "integrator": ("Nhà tích hợp", "Integrators"),
    "everyone": ("Mọi người", "Everyone"),
}


@dataclass(frozen=True)
class Example:
    key: str
    vi: str
    en: str
    query: str
    user: str = "everyone"

    @property
    def user_label(self) -> tuple[str, str]:
        return USERS[self.user]


EXAMPLES = [
    Example(
        "ended",
        "Đơn vị của Hà Nội giải thể ngày 01/7/2025, đơn vị kế thừa và phần lãnh thổ",
        "Hà Nội units dissolved on 2025-07-01, their successors and portions",
        """\
SELECT ?old ?oldName ?new ?newName ?portion ?isDefault WHERE {
  ?hanoi skos:notation "01" ; kho:level khoc:level-province .
  ?old rico:endDate "2025-06-30"^^xsd:date ; rico:isOrWasContainedBy+ ?hanoi ;
       skos:prefLabel ?oldName FILTER(lang(?oldName) = "vi")
  ?t kho:fromUnit ?old ; kho:toUnit ?new ; kho:portion ?portion ;
     kho:isDefaultSuccessor ?isDefault .
  ?new skos:prefLabel ?newName FILTER(lang(?newName) = "vi")
} ORDER BY ?oldName ?newName""",
        "administrator",
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
        "administrator",
    ),
    Example(
        "records-of-predecessors",
        "Tài liệu do các đơn vị tiền thân của một xã/phường mới hình thành (Xã Hòa Lạc; "
        "đổi mã, ví dụ 00004 là Phường Ba Đình)",
        "Records created by the predecessors of a new commune or ward (Xã Hòa Lạc; change the "
        "code, e.g. 00004 for Phường Ba Đình)",
        """\
# Mã đơn vị mới / code of the new unit: 09988 = Xã Hòa Lạc, 00004 = Phường Ba Đình
SELECT ?record ?title ?creatorName ?predecessor ?predecessorName ?portion WHERE {
  ?ward skos:notation "09988" ; rico:beginningDate "2025-07-01"^^xsd:date .
  ?t kho:toUnit ?ward ; kho:fromUnit ?predecessor ; kho:portion ?portion .
  ?predecessor skos:prefLabel ?predecessorName FILTER(lang(?predecessorName) = "vi")
  ?record kho:adminUnit ?predecessor ; rico:hasCreator ?creator .
  { ?record a rico:RecordSet ; rico:title ?title }
  UNION { ?record a rico:Record ; rico:scopeAndContent ?title }
  ?creator skos:prefLabel ?creatorName FILTER(lang(?creatorName) = "vi")
} ORDER BY ?record""",
        "researcher",
    ),
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
        "researcher",
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
        "researcher",
    ),
    Example(
        "retention-due",
        "Hồ sơ đến hạn xem xét lại thời hạn bảo quản trước 01/01/2036",
        "Hồ sơ due for retention review before 2036-01-01",
        """\
SELECT ?hoso ?code ?title ?reviewDate ?period ?status WHERE {
  ?decision a kho:RetentionDecision ; rico:regulatesOrRegulated ?hoso ;
            kho:reviewDate ?reviewDate ; kho:maintenance ?m ; kho:decisionStatus ?s .
  FILTER(?reviewDate < "2036-01-01"^^xsd:date)
  ?hoso rico:identifier ?code ; rico:title ?title .
  OPTIONAL { ?m skos:prefLabel ?period FILTER(lang(?period) = "vi") }
  OPTIONAL { ?s skos:prefLabel ?status FILTER(lang(?status) = "vi") }
} ORDER BY ?reviewDate ?code""",
        "archivist",
    ),
    Example(
        "provenance",
        "Nguồn gốc một hồ sơ: cơ quan hình thành, đơn vị lúc đó, các nơi quản lý, "
        "chuyển giao khi sắp xếp, nơi quản lý hiện nay",
        "Provenance of a hồ sơ: creating agency, its unit then, holders, custody transfers at "
        "the reform, holder now",
        """\
# Đổi mã hồ sơ / change the file code
SELECT ?creator ?creatorName ?unitThen ?unitName ?holder ?holderName ?from ?to ?holdsNow
       ?basis WHERE {
  ?hoso rico:identifier "H01.04936.DTN.2021.51" ; rico:hasCreator ?creator ;
        kho:adminUnit ?unitThen ; rico:isOrWasIncludedIn ?fonds .
  ?creator skos:prefLabel ?creatorName FILTER(lang(?creatorName) = "vi")
  ?unitThen skos:prefLabel ?unitName FILTER(lang(?unitName) = "vi")
  ?holding a rico:RecordResourceHoldingRelation ; rico:relationHasTarget ?fonds ;
           rico:relationHasSource ?holder .
  ?holder skos:prefLabel ?holderName FILTER(lang(?holderName) = "vi")
  OPTIONAL { ?holding rico:beginningDate ?from }
  OPTIONAL { ?holding rico:endDate ?to }
  OPTIONAL { ?holding rico:generalDescription ?basis }
  BIND(!BOUND(?to) AS ?holdsNow)
} ORDER BY ?from""",
        "archivist",
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
        "archivist",
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
        "archivist",
    ),
    Example(
        "levels",
        "Số hồ sơ và tài liệu theo chế độ sử dụng mà bạn được xem",
        "Hồ sơ and documents per access level that you may see",
        """\
SELECT ?level ?label (COUNT(DISTINCT ?hoso) AS ?hoSo) (COUNT(DISTINCT ?doc) AS ?documents)
WHERE {
  { ?hoso a rico:RecordSet ; kho:accessLevel ?level }
  UNION { ?doc a rico:Record ; kho:accessLevel ?level }
  OPTIONAL { ?level skos:prefLabel ?label FILTER(lang(?label) = "vi") }
} GROUP BY ?level ?label ORDER BY ?level""",
        "everyone",
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
        "integrator",
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
        "everyone",
    ),
]


def example(key: str) -> Example | None:
    return next((e for e in EXAMPLES if e.key == key), None)
