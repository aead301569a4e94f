"""What a run of `kho registries verify` (or a re-check from the web) did: links per registry
and status, the registry errors to act on, the statuses that changed, the subjects whose links
changed (to re-index) and the links left unasked because their registry kept failing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from repository.registry_links import REGISTRY_NAMES, STATUSES


@dataclass
class VerifyReport:
    """What a run checked: links per registry and status, and the errors to act on."""

    links: int = 0
    counts: dict[str, dict[str, int]] = field(
        default_factory=lambda: {r: dict.fromkeys(STATUSES, 0) for r in REGISTRY_NAMES}
    )
    errors: list[dict[str, str]] = field(default_factory=list)  # registry errors
    not_found: int = 0
    from_cache: int = 0
    seconds: float = 0.0
    stats: dict[str, dict[str, int]] = field(default_factory=dict)
    # records, hồ sơ, agencies and units whose links changed (status or facts): re-index them
    changed_subjects: set[str] = field(default_factory=set)
    # links whose status changed: {"link", "subject", "registry", "before", "after"}
    changes: list[dict[str, str]] = field(default_factory=list)
    # links not asked because their registry kept failing (`give_up_after`); left as they were
    skipped: list[dict[str, str]] = field(default_factory=list)

    @property
    def transitions(self) -> dict[str, int]:
        """How many links went from one status to another, as "before → after"."""
        out: dict[str, int] = {}
        for c in self.changes:
            key = f"{c['before']} → {c['after']}"
            out[key] = out.get(key, 0) + 1
        return out

    @property
    def rate(self) -> float:
        """Links checked per second."""
        return self.links / self.seconds if self.seconds else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "links": self.links,
            "counts": self.counts,
            "errors": self.errors,
            "from_cache": self.from_cache,
            "seconds": round(self.seconds, 2),
            "links_per_second": round(self.rate, 1),
            "registries": self.stats,
            "transitions": self.transitions,
            "changed_subjects": len(self.changed_subjects),
            "skipped": len(self.skipped),
        }

    def text(self) -> str:
        lines = [
            f"Đã kiểm tra / checked {self.links} liên kết / links in {self.seconds:.1f} s "
            f"({self.rate:.1f}/s; {self.from_cache} từ bộ nhớ đệm / from the cache)"
        ]
        for registry, by_status in self.counts.items():
            shown = ", ".join(f"{s} {n}" for s, n in by_status.items() if n)
            if shown:
                lines.append(f"  {registry:11} {shown}")
        if self.changes:
            moved = ", ".join(f"{k} {n}" for k, n in sorted(self.transitions.items()))
            lines.append(f"  đổi trạng thái / status changed: {moved}")
        if self.skipped:
            lines.append(
                f"  {len(self.skipped)} liên kết chưa hỏi (sổ đăng ký không trả lời) / links "
                "not asked (their registry did not answer)"
            )
        for e in self.errors[:20]:
            lines.append(
                f"  ! {e['registry']}: {e['link']}\n    {e['message_vi']}\n    {e['message_en']}"
            )
        if len(self.errors) > 20:
            lines.append(f"  … {len(self.errors) - 20} lỗi khác / more errors (--json lists all)")
        return "\n".join(lines)
