"""Lays out the provenance chain of a record or hồ sơ for server-side SVG: one box per holder, top
to bottom (creating agency → holders over time → who holds it now), with the transfer between two
holders written on the arrow (date, legal act). Vertical, so a long chain stays readable at any
width; _provenance.html draws what this module places, and repeats it as an ordered list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from repository.provenance import Step
from webapp.lineage import Line

BOX_W, BOX_H, GAP, PAD = 720, 80, 54, 14
NAME_CHARS = 64
NOW = "★ Đang giữ hôm nay / Holds it now"


@dataclass
class ChainBox:
    x: int
    y: int
    w: int
    h: int
    href: str | None
    title: str
    kind: str  # created | held | transferred
    now: bool
    lines: list[Line] = field(default_factory=list)


@dataclass
class Arrow:
    x: int
    y1: int
    y2: int
    label: str
    act: str | None
    act_href: str | None


@dataclass
class ChainDiagram:
    width: int
    height: int
    title: str
    desc: str
    boxes: list[ChainBox]
    arrows: list[Arrow]


def _short(text: str, n: int = NAME_CHARS) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def span(step: Step) -> str:
    return f"{step.begin or '…'} → {step.end or 'nay / now'}"


def sentence(step: Step) -> str:
    """The step in words, for <desc> and the ordered list."""
    vi, en = step.how_label
    where = f", {step.unit_name}" if step.unit_name else ""
    act = f"; căn cứ / basis: {step.act_label}" if step.act_label else ""
    now = " — đang giữ hôm nay / holds it today" if step.now else ""
    return f"{vi} / {en}: {step.name}{where} ({span(step)}){act}{now}"


def build(steps: list[Step], href: Callable[[str], str | None], subject: str) -> ChainDiagram:
    """The diagram of a chain; `subject` names the record or hồ sơ in the title."""
    boxes: list[ChainBox] = []
    arrows: list[Arrow] = []
    y = PAD
    for i, step in enumerate(steps):
        vi, en = step.how_label
        head = f"{vi} / {en}" + (f"   {NOW}" if step.now else "")
        unit = f"{step.unit_name} · " if step.unit_name else ""
        lines = [
            Line(head, "how"),
            Line(_short(step.name), "name"),
            Line(_short(step.name_en or "", NAME_CHARS + 16), "en"),
            Line(f"{unit}{span(step)}", "meta"),
        ]
        boxes.append(
            ChainBox(
                PAD, y, BOX_W, BOX_H, href(step.agency), sentence(step), step.how, step.now, lines
            )
        )
        if i + 1 < len(steps):
            nxt = steps[i + 1]
            label = (
                f"Chuyển giao / transferred {nxt.begin or ''}".strip()
                if nxt.how == "transferred"
                else "Giao quản lý / custody given"
            )
            arrows.append(
                Arrow(
                    PAD + 40,
                    y + BOX_H,
                    y + BOX_H + GAP,
                    label,
                    nxt.act_label,
                    href(nxt.act) if nxt.act else None,
                )
            )
        y += BOX_H + GAP
    height = y - GAP + PAD
    title = f"Nguồn gốc và quá trình quản lý / Provenance: {subject}"
    desc = " → ".join(sentence(s) for s in steps)
    return ChainDiagram(BOX_W + 2 * PAD, height, title, desc, boxes, arrows)
