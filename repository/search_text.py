"""What both search engines share: accent folding, query cleanup, snippets, the engine marker.

Kho's full-text search runs on Whoosh (the embedded default) or tantivy (settings.search,
KHO_SEARCH). Both see the same words: Whoosh through `folding_analyzer`, tantivy through the
`TANTIVY_FOLDING` analyzer it registers, checked against each other letter by letter
(tests/test_search_engines.py). Queries are parsed once, by Whoosh's parser, and the tantivy
engine translates the parsed query (repository.search_tantivy), so both match alike.
"""

from __future__ import annotations

import fcntl
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from whoosh import highlight
from whoosh.analysis import Analyzer, CharsetFilter, LowercaseFilter, RegexTokenizer, Token
from whoosh.query import Phrase, Query, Term
from whoosh.support.charset import accent_map

from repository.errors import KhoError
from repository.text import fold, nfc

ENGINES = ("whoosh", "tantivy")
MARKER = "kho-engine"  # a file in each index directory: which engine wrote it
WORD = r"\w+(\.?\w+)*"  # Whoosh's RegexTokenizer default; tantivy's regex tokenizer uses it too
# A word of punctuation only ("Viễn thông – Quân đội", "Văn Miếu - Quốc Tử Giám") has no index
# terms: left in, it would make the query ask for the dash itself, and nothing matches.
_PUNCTUATION = re.compile(r'(?<!\S)[^\w\s()"]+(?!\S)')


def _folding_map() -> dict[int, str]:
    """Whoosh's accent map, checked against our own fold() for every Vietnamese letter.

    Both tone-mark placements ("Ủy"/"Uỷ", "hòa"/"hoà") lose their marks alike, and đ/Đ become d
    (they have no Unicode decomposition, so a plain NFD strip would keep them).
    """
    charmap = dict(accent_map)
    for block in (range(0xC0, 0x250), range(0x1E00, 0x1F00)):
        for cp in block:
            folded = fold(chr(cp))
            if folded and folded.isascii() and folded != chr(cp):
                charmap[cp] = folded
    charmap[ord("đ")] = "d"
    charmap[ord("Đ")] = "d"
    return charmap


FOLDING_MAP = _folding_map()


class NfcTokenizer(RegexTokenizer):
    """Words of the NFC form: decomposed input ("a" + combining grave) splits like composed."""

    def __call__(self, value: str, **kwargs: object) -> Iterator[Token]:
        return super().__call__(nfc(value), **kwargs)  # type: ignore[no-any-return]


def folding_analyzer() -> Analyzer:
    """Words, lower-cased, with every accent and tone mark folded away."""
    return NfcTokenizer(WORD) | LowercaseFilter() | CharsetFilter(FOLDING_MAP)


@cache
def _analyzer() -> Analyzer:
    return folding_analyzer()


def words(text: str) -> list[str]:
    """The index words of `text`."""
    return [t.text for t in _analyzer()(text)]


def clean_query(q: str) -> str:
    """The query as both engines parse it: NFC, words of punctuation only dropped."""
    return _PUNCTUATION.sub(" ", nfc(q)).strip()


def engine(settings: object) -> str:
    """settings.search, checked."""
    name = str(getattr(settings, "search", "whoosh") or "whoosh").strip().lower()
    if name not in ENGINES:
        raise KhoError(
            f"Unknown search engine {name!r} (KHO_SEARCH); use one of {', '.join(ENGINES)}."
        )
    return name


def engine_path(base: Path, name: str) -> Path:
    """Each engine's index has a directory of its own: Whoosh's where it always was, tantivy's
    beside it (`records-index-tantivy`), so switching KHO_SEARCH never reads the other's files."""
    return base if name == "whoosh" else base.with_name(f"{base.name}-{name}")


def written_by(path: Path) -> str | None:
    """The engine that wrote the index in `path` (an unmarked Whoosh index predates the marker)."""
    marker = path / MARKER
    if marker.is_file():
        return marker.read_text(encoding="utf-8").split()[0]
    if path.is_dir() and any(path.glob("_MAIN_*.toc")):
        return "whoosh"
    return None


def mark(path: Path, name: str, fmt: str) -> None:
    (path / MARKER).write_text(f"{name} {fmt}\n", encoding="utf-8")


def marked_format(path: Path) -> str:
    marker = path / MARKER
    parts = marker.read_text(encoding="utf-8").split() if marker.is_file() else []
    return parts[1] if len(parts) > 1 else ""


def write_beside(target: Path, build: Callable[[Path], int]) -> int:
    """Run `build(directory)` in a new directory beside `target`, then swap it in.

    Searches running meanwhile keep reading a whole index; a failure leaves the old one in place.
    A process killed during the swap leaves `target.old` without `target`: recover_swap() (run
    here, by readers that find no index, and by `kho check`) puts it back.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    with _building_lock(target):
        recover_swap(target)
        for stale in leftovers(target):  # builds of killed processes (we hold the lock)
            shutil.rmtree(stale, ignore_errors=True)
        building = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
        try:
            count = build(building)
            old = target.with_name(target.name + ".old")
            if target.exists():
                target.rename(old)
            building.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
    return count


@contextmanager
def _building_lock(target: Path) -> Iterator[None]:
    """One rebuild of an index at a time (the kernel drops the lock when its holder dies)."""
    with (target.parent / f".lock-{target.name}").open("a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise KhoError(
                f"Another process is rebuilding {target} (kho reindex?); wait for it to finish."
            ) from None
        yield


def recover_swap(target: Path) -> bool:
    """Finish a swap a killed process left half-done; True when the index was put back."""
    old = target.with_name(target.name + ".old")
    if not old.exists():
        return False
    if target.exists():  # the new index is in place: the old one is garbage
        shutil.rmtree(old, ignore_errors=True)
        return False
    old.rename(target)
    return True


def leftovers(target: Path) -> list[Path]:
    """Directories of builds that never finished (a killed `kho reindex`)."""
    if not target.parent.is_dir():
        return []
    return sorted(p for p in target.parent.glob(f".{target.name}-*") if p.is_dir())


def snippet(body: str, terms: Iterable[str], top: int = 2) -> str:
    """The best passages of `body` (masked already) with `terms` marked, as Whoosh's hits do."""
    formatter = highlight.HtmlFormatter(tagname="strong", classname="match", termclass="t")
    return str(
        highlight.highlight(
            body,
            frozenset(terms),
            folding_analyzer(),
            highlight.ContextFragmenter(),
            formatter,
            top=top,
        )
    )


def via_links(labels: list[str], matched_words: set[str], matched_keys: set[str]) -> list[str]:
    """The labels of the links whose words or keys the query matched, best first (at most 3)."""
    if not matched_words and not matched_keys:
        return []
    scored = []
    for label in labels:
        tokens = set(words(label))
        score = len(matched_words & tokens) + 2 * sum(1 for k in matched_keys if k in label.lower())
        if score:
            scored.append((score, label))
    best = max((n for n, _ in scored), default=0)
    return [label for n, label in scored if n == best][:3]


def link_sequences(q: Query, field: str) -> list[tuple[str, ...]]:
    """The words `q` asks of `field`: one per term, a phrase's words together."""
    if isinstance(q, Phrase):
        return [tuple(q.words)] if q.fieldname == field else []
    if isinstance(q, Term):
        return [(str(q.text),)] if q.fieldname == field else []
    return [s for child in q.children() for s in link_sequences(child, field)]


def matched_words(wanted: list[tuple[str, ...]], tokens: list[str]) -> set[str]:
    """The words of `wanted` found in `tokens` (a phrase only where its words follow each other),
    as Whoosh's matched terms."""
    found: set[str] = set()
    for seq in wanted:
        n = len(seq)
        if any(tuple(tokens[i : i + n]) == seq for i in range(len(tokens) - n + 1)):
            found.update(seq)
    return found
