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
        "parcels-in-new-ward",
        "Tài liệu về các thửa đất nằm trong một xã/phường mới, qua các xã cũ đã nhập vào "
        "(Xã Ứng Thiên; đổi mã, ví dụ 00004 là Phường Ba Đình)",
        "Records about land parcels in a new commune or ward, through the old communes merged "
        "into it (Xã Ứng Thiên; change the code, e.g. 00004 for Phường Ba Đình)",
        """\
# Mã xã/phường mới / code of the new unit: 10369 = Xã Ứng Thiên (the code was reused: until
# 2025-06-30 it was Xã Trường Thịnh), 00004 = Phường Ba Đình
SELECT ?record ?identifier ?communeThen ?communeThenName ?portion ?sheet ?parcel ?parcelId
       ?status WHERE {
  ?ward skos:notation "10369" ; rico:beginningDate "2025-07-01"^^xsd:date .
  { ?t kho:toUnit ?ward ; kho:fromUnit ?communeThen ; kho:portion ?portion }
  UNION { BIND(?ward AS ?communeThen) }          # parcels registered after the reform
  ?link kho:parcelUnitThen ?communeThen ; kho:refKind "land" .
  ?record dct:references ?link ; rico:identifier ?identifier .
  ?communeThen skos:prefLabel ?communeThenName FILTER(lang(?communeThenName) = "vi")
  OPTIONAL { ?link kho:mapSheet ?sheet } OPTIONAL { ?link kho:parcel ?parcel }
  OPTIONAL { ?link kho:parcelId ?parcelId } OPTIONAL { ?link kho:verificationStatus ?status }
} ORDER BY ?communeThenName ?record""",
        "researcher",
    ),
    Example(
        "enterprises-cited",
        "Doanh nghiệp được tài liệu nhắc đến và tình trạng của chúng trong CSDL đăng ký "
        "doanh nghiệp",
        "Enterprises cited in records, with their status in the business registry",
        """\
SELECT ?code ?name ?shortName ?statusLabel ?verification ?checkedAt
       (COUNT(DISTINCT ?record) AS ?records)
WHERE {
  ?record dct:references ?link .
  ?link kho:refKind "enterprise" ; kho:registryId ?code ; kho:verificationStatus ?verification .
  OPTIONAL { ?link kho:enterpriseName ?name }
  OPTIONAL { ?link kho:enterpriseShortName ?shortName }
  OPTIONAL { ?link kho:enterpriseStatusLabel ?statusLabel }
  OPTIONAL { ?link kho:checkedAt ?checkedAt }
} GROUP BY ?code ?name ?shortName ?statusLabel ?verification ?checkedAt ORDER BY ?code""",
        "researcher",
    ),
    Example(
        "links-failed",
        "Liên kết sổ đăng ký không xác minh được (không tìm thấy, lỗi sổ đăng ký) và việc cần làm",
        "Registry links that failed verification (not found, registry error) and what to do",
        """\
SELECT ?subject ?link ?kind ?status ?checkedAt ?note WHERE {
  ?subject dct:references ?link .
  ?link kho:refKind ?kind ; kho:verificationStatus ?status .
  FILTER(?status IN (<https://w3id.org/kho/code/verification/not-found>,
                     <https://w3id.org/kho/code/verification/registry-error>))
  OPTIONAL { ?link kho:checkedAt ?checkedAt }
  OPTIONAL { ?link kho:verificationNote ?note FILTER(lang(?note) = "vi") }
} ORDER BY ?status ?kind ?subject""",
        "archivist",
    ),
    Example(
        "officials-cited",
        "Cán bộ được tài liệu nhắc đến: chức vụ và cơ quan theo CSDL cán bộ",
        "Officials cited in records: position and agency according to the officials registry",
        """\
SELECT ?record ?code ?position ?agency ?agencyName WHERE {
  ?record dct:references ?link .
  ?link kho:refKind "official" ; kho:registryId ?code .
  OPTIONAL { ?link kho:officialPosition ?position }
  OPTIONAL { ?link kho:officialAgency ?agency .
             ?agency skos:prefLabel ?khoName FILTER(lang(?khoName) = "vi") }
  OPTIONAL { ?link kho:officialAgencyName ?registryName }
  BIND(COALESCE(?khoName, ?registryName) AS ?agencyName)
} ORDER BY ?code ?record""",
        "researcher",
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
