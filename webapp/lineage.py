"""Lays out a unit's lineage diagram for server-side SVG: predecessors → event → unit → event →
successors. Whole transfers are solid arrows; part transfers are dashed and labelled; the default
successor is starred. The template _lineage.html draws what this module places.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from repository.gazetteer import EventRef, UnitDetail, UnitRef
from webapp.labels import CHANGES, Vocabulary

UNIT_W, EVENT_W, BOX_H, GAP_X, GAP_Y, PAD = 280, 250, 56, 96, 12, 14
NAME_CHARS = 30
PART = "một phần / part"
DEFAULT = "★ mặc định / default"


@dataclass
class Line:
    text: str
    css: str = ""
    href: str | None = None


@dataclass
class Box:
    x: int
    y: int
    w: int
    h: int
    href: str | None
    title: str
    kind: str  # "old", "new", "self", "event"
    lines: list[Line] = field(default_factory=list)

    @property
    def right(self) -> tuple[int, int]:
        return self.x + self.w, self.y + self.h // 2

    @property
    def left(self) -> tuple[int, int]:
        return self.x, self.y + self.h // 2


@dataclass
class Edge:
    d: str
    dashed: bool
    label: str | None = None
    lx: int = 0
    ly: int = 0


@dataclass
class Diagram:
    width: int
    height: int
    title: str
    boxes: list[Box]
    edges: list[Edge]


def _span(u: UnitRef) -> str:
    return f"{u.code} · {u.valid_from or '…'} → {u.valid_to or 'nay/now'}"


def _short(text: str) -> str:
    return text if len(text) <= NAME_CHARS else text[: NAME_CHARS - 1] + "…"


def _unit_box(u: UnitRef, kind: str, href: Callable[[str], str | None], starred: bool) -> Box:
    lines = [Line(_short(u.name), "name"), Line(_span(u), "meta")]
    if starred:
        lines.append(Line(DEFAULT, "default"))
    title = f"{u.name} ({_span(u)})" + (f" — {DEFAULT}" if starred else "")
    return Box(0, 0, UNIT_W, BOX_H, href(u.iri), title, kind, lines)


def _event_box(e: EventRef, href: Callable[[str], str | None], vocab: Vocabulary) -> Box:
    short = [CHANGES.get(t, (t, t)) for t in sorted(e.types, key=_change_order)]
    kinds = ", ".join(vi for vi, _ in short) + " / " + ", ".join(en for _, en in short)
    lines = [Line("Sắp xếp / Reorganisation", "name"), Line(f"{e.date} · {kinds}", "meta")]
    if e.legal_iri:
        lines.append(Line(e.legal_label or "văn bản / act", "legal", href(e.legal_iri)))
    return Box(0, 0, EVENT_W, BOX_H, href(e.iri), e.label or e.iri, "event", lines)


def _change_order(kind: str) -> int:
    return list(CHANGES).index(kind) if kind in CHANGES else len(CHANGES)


def _curve(a: tuple[int, int], b: tuple[int, int]) -> str:
    dx = (b[0] - a[0]) // 2
    return f"M{a[0]},{a[1]} C{a[0] + dx},{a[1]} {b[0] - dx},{b[1]} {b[0]},{b[1]}"


def _local(iri: str) -> str:
    return iri.rstrip("/").rsplit("/", 1)[-1]


def build(
    detail: UnitDetail, href: Callable[[str], str | None], vocab: Vocabulary
) -> Diagram | None:
    """The diagram for one unit, or None when the unit neither came from nor became anything."""
    unit = detail.unit
    if not (detail.predecessors or detail.successors or detail.generated_by or detail.ended_by):
        return None
    columns: list[list[Box]] = []
    edges: list[Edge] = []
    me = Box(
        0,
        0,
        UNIT_W,
        BOX_H,
        None,
        unit.name,
        "self",
        [Line(_short(unit.name), "name"), Line(_span(unit), "meta")],
    )

    preds = [
        _unit_box(p, "old", href, bool(p.default and p.portion == "part"))
        for p in detail.predecessors
    ]
    born = _event_box(detail.generated_by, href, vocab) if detail.generated_by else None
    ended_by = _in_successor_order(detail.ended_by, detail.successors)
    ends = [_event_box(e, href, vocab) for e in ended_by]
    succs = [
        _unit_box(s, "new", href, bool(s.default and s.portion == "part"))
        for s in detail.successors
    ]
    for column in (preds, [born] if born else [], [me], ends, succs):
        if column:
            columns.append(column)

    height = max(len(c) * BOX_H + (len(c) - 1) * GAP_Y for c in columns) + 2 * PAD
    x = PAD
    for column in columns:
        stack = len(column) * BOX_H + (len(column) - 1) * GAP_Y
        y = (height - stack) // 2
        for box in column:
            box.x, box.y = x, y
            y += BOX_H + GAP_Y
        x += column[0].w + GAP_X
    width = x - GAP_X + PAD

    # predecessors → the event that made this unit (or straight to it) → this unit
    target = born or me
    for ref, box in zip(detail.predecessors, preds, strict=True):
        edges.append(_edge(box.right, target.left, ref.portion, near="start"))
    if born:
        edges.append(_edge(born.right, me.left, "whole"))
    # this unit → the events that ended it → what each event made of it
    for event_box in ends:
        edges.append(_edge(me.right, event_box.left, "whole"))
    for ref, box in zip(detail.successors, succs, strict=True):
        source = _event_for(ref, ended_by, ends) or me
        edges.append(_edge(source.right, box.left, ref.portion, near="end"))

    title = f"Dòng thay đổi / Lineage: {unit.name} ({_span(unit)})"
    boxes = [b for column in columns for b in column]
    return Diagram(width, height, title, boxes, edges)


def _in_successor_order(events: list[EventRef], successors: list[UnitRef]) -> list[EventRef]:
    """Events stacked in the order of the successors they made, so that arrows do not cross."""
    order = {_local(s.iri): i for i, s in enumerate(successors)}
    return sorted(events, key=lambda e: order.get(_local(e.iri), len(order)))


def _event_for(ref: UnitRef, events: list[EventRef], boxes: list[Box]) -> Box | None:
    """The box of the event that made `ref`; events are minted one per resulting unit, named
    after it (docs/model.md), and a lone event needs no matching."""
    if len(boxes) == 1:
        return boxes[0]
    for event, box in zip(events, boxes, strict=True):
        if _local(event.iri) == _local(ref.iri):
            return box
    return boxes[0] if boxes else None


def _edge(a: tuple[int, int], b: tuple[int, int], portion: str | None, near: str = "") -> Edge:
    dashed = portion == "part"
    edge = Edge(_curve(a, b), dashed)
    if dashed:
        edge.label = PART
        edge.lx, edge.ly = (a[0] + 4, a[1] - 5) if near == "start" else (b[0] - 86, b[1] - 5)
    return edge
