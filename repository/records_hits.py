"""What both records engines do alike with a page of hits (repository.records_whoosh,
repository.records_tantivy): facet values by count, and each hit dressed the same way, with the
masked snippet of its text and the registry links the query matched (via_links)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from whoosh.query import Query

from repository.config import Settings
from repository.record_index import RecordHit, hit_from, masked_text
from repository.search_text import link_sequences, matched_words, snippet, via_links, words


def by_count(pairs: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    """Facet values, most frequent first, then by value; the empty value left out."""
    return sorted(((v, n) for v, n in pairs if v), key=lambda kv: (-kv[1], kv[0]))


def _str(term: object) -> str:
    return term.decode("utf-8") if isinstance(term, bytes) else str(term)


@dataclass(frozen=True)
class Asked:
    """What a parsed query asks of the text and of the registry links."""

    text: set[str] = field(default_factory=set)  # words of the text field
    link_words: list[tuple[str, ...]] = field(default_factory=list)  # word sequences of the links
    link_keys: set[str] = field(default_factory=set)  # exact keys (numbers, codes)

    @classmethod
    def of(cls, parsed: Query | None) -> Asked:
        if parsed is None:
            return cls()
        terms = parsed.all_terms()
        return cls(
            {_str(t) for f, t in terms if f == "text"},
            link_sequences(parsed, "links"),
            {_str(t) for f, t in terms if f == "link_keys"},
        )


def dress(
    settings: Settings,
    fields: dict[str, object],
    score: float,
    asked: Asked,
    snippets: bool,
    link_text: str,
    in_text: set[str] | None = None,
) -> RecordHit:
    """A hit from its stored fields: its snippet (of the words `in_text` matched, by default
    those the query asked of the text) and the labels of the links the query matched."""
    hit = hit_from(fields, score)
    in_text = asked.text if in_text is None else in_text
    if snippets and in_text and fields.get("sha"):
        hit.snippet = snippet(masked_text(settings, str(fields["sha"])), in_text) or None
    labels = list(fields.get("link_labels") or [])  # type: ignore[call-overload]
    if (asked.link_words or asked.link_keys) and labels:
        hit.via_links = via_links(
            labels,
            matched_words(asked.link_words, words(link_text)),
            asked.link_keys & set(str(fields.get("link_keys") or "").lower().split()),
        )
    return hit
