"""The tantivy side of Kho's search (settings.search = "tantivy"): schema, analyzers, queries.

Documents are the same dicts the Whoosh engine indexes; the Whoosh schema of an index says how
each field is treated (repository.record_index.schema, repository.search_index.schema), so the
two engines cannot drift apart:

- TEXT fields (the folding analyzer) use the `kho_fold` analyzer: the same word pattern,
  lower-cased, accents folded (tantivy's ASCII folding; checked against Whoosh's letter by letter);
- ID fields are single raw terms, fast (facet counts, sorting);
- comma KEYWORD fields (a record's units, registries) are several raw terms, fast;
- other KEYWORD fields (link keys) split on spaces, lower-cased (`kho_keys`);
- STORED fields are stored only (raw, never queried).

A query is parsed by Whoosh's parser over the Whoosh schema and translated here, so operators,
phrases, field prefixes and the per-word analysis are exactly Whoosh's. Field boosts come from
the Whoosh schema too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path

import tantivy
from whoosh import query as wq
from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema

from repository.errors import BadRequest
from repository.search_text import MARKER, mark

# Whoosh's word pattern, \w+(\.?\w+)*, with Python's \w: letters, digits and "_", never a
# combining mark (Rust's \w takes marks in, and a stray mark would stay in the word).
WORD = r"[\p{L}\p{N}_]+(\.?[\p{L}\p{N}_]+)*"
WRITER_HEAP = 128_000_000  # bytes the writer buffers before it writes a segment (bounded memory)
_COMMIT_EVERY = 200_000  # a rebuild commits in steps, so a crash loses little and memory stays flat


def fold_analyzer() -> tantivy.TextAnalyzer:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(WORD))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )


def keys_analyzer() -> tantivy.TextAnalyzer:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace())
        .filter(tantivy.Filter.lowercase())
        .build()
    )


def _kind(field: object) -> str:
    if isinstance(field, TEXT):
        return "text"
    if isinstance(field, KEYWORD):
        return "multi" if "[^,]" in repr(field.analyzer) else "keys"
    if isinstance(field, ID):
        return "id"
    if isinstance(field, STORED):
        return "stored"
    raise TypeError(f"no tantivy field for {field!r}")


class Layout:
    """How a Whoosh schema maps to tantivy: field kinds, boosts and the tantivy schema."""

    def __init__(
        self, schema: Schema, stored_multi: Iterable[str] = (), also_stored: Iterable[str] = ()
    ) -> None:
        self.kinds = {name: _kind(schema[name]) for name in schema.names()}
        self.boosts = {n: float(getattr(schema[n], "field_boost", 1.0)) for n in schema.names()}
        self.stored = {n for n in schema.names() if getattr(schema[n], "stored", False)}
        self.stored |= {n for n, k in self.kinds.items() if k == "stored"} | set(also_stored)
        self.lists = set(stored_multi)
        self.whoosh = schema
        builder = tantivy.SchemaBuilder()
        for name, kind in self.kinds.items():
            stored = name in self.stored
            if kind == "text":
                builder.add_text_field(name, stored=stored, tokenizer_name="kho_fold")
            elif kind == "keys":
                builder.add_text_field(
                    name, stored=True, tokenizer_name="kho_keys", index_option="freq"
                )
            elif kind in ("id", "multi"):
                builder.add_text_field(
                    name, stored=stored, fast=True, tokenizer_name="raw", index_option="basic"
                )
            else:
                builder.add_text_field(
                    name, stored=True, tokenizer_name="raw", index_option="basic"
                )
        self.schema = builder.build()

    def document(self, doc: dict[str, object]) -> tantivy.Document:
        out: dict[str, object] = {}
        for name, value in doc.items():
            kind = self.kinds.get(name)
            if kind is None or value is None or value == "":
                continue
            if kind == "multi":
                values = [v.strip() for v in str(value).split(",") if v.strip()]
                if values:
                    out[name] = values
            elif name in self.lists:
                out[name] = [str(v) for v in value] if isinstance(value, list) else [str(value)]
            else:
                out[name] = str(value)
        return tantivy.Document(**out)

    def fields(self, doc: tantivy.Document) -> dict[str, object]:
        """A stored document as Whoosh gives it: single values, comma lists joined again."""
        out: dict[str, object] = {}
        for name, values in doc.to_dict().items():
            if self.kinds.get(name) == "multi":
                out[name] = ",".join(str(v) for v in values)
            elif name in self.lists:
                out[name] = list(values)
            else:
                out[name] = values[0] if values else None
        return out

    # -- queries -------------------------------------------------------------------------------

    def term(self, name: str, text: str, boost: float = 1.0) -> tantivy.Query:
        kind = self.kinds.get(name)
        if kind is None:
            raise BadRequest(f"Unknown field {name!r} in the query.")
        option = "position" if kind == "text" else "freq" if kind == "keys" else "basic"
        q = tantivy.Query.term_query(self.schema, name, text, index_option=option)
        boost *= self.boosts.get(name, 1.0)
        return q if boost == 1.0 else tantivy.Query.boost_query(q, boost)

    def translate(self, q: wq.Query) -> tantivy.Query:
        """A parsed Whoosh query as a tantivy query with the same matches."""
        Q, Oc = tantivy.Query, tantivy.Occur  # noqa: N806
        if isinstance(q, wq.Every):
            return Q.all_query()
        if q is wq.NullQuery or type(q).__name__ == "_NullQuery":
            return Q.empty_query()
        if isinstance(q, wq.Term):
            return self.term(q.fieldname, str(q.text), q.boost)
        if isinstance(q, wq.Phrase):
            if self.kinds.get(q.fieldname) != "text":
                return self.term(q.fieldname, " ".join(q.words), q.boost)
            if len(q.words) == 1:
                return self.term(q.fieldname, q.words[0], q.boost)
            phrase = Q.phrase_query(self.schema, q.fieldname, list(q.words), slop=q.slop - 1)
            return Q.boost_query(phrase, q.boost * self.boosts.get(q.fieldname, 1.0))
        if isinstance(q, wq.Prefix):
            return self._regex(q.fieldname, re.escape(str(q.text)) + ".*", q.boost)
        if isinstance(q, wq.Wildcard):
            pattern = "".join(
                ".*" if c == "*" else "." if c == "?" else re.escape(c) for c in str(q.text)
            )
            return self._regex(q.fieldname, pattern, q.boost)
        if isinstance(q, wq.And):
            return Q.boolean_query([(Oc.Must, self.translate(s)) for s in q.subqueries])
        if isinstance(q, wq.Or):
            return Q.boolean_query([(Oc.Should, self.translate(s)) for s in q.subqueries])
        if isinstance(q, wq.Not):
            return Q.boolean_query(
                [(Oc.Must, Q.all_query()), (Oc.MustNot, self.translate(q.query))]
            )
        if isinstance(q, wq.AndNot):
            return Q.boolean_query(
                [(Oc.Must, self.translate(q.a)), (Oc.MustNot, self.translate(q.b))]
            )
        if isinstance(q, wq.AndMaybe):
            return Q.boolean_query(
                [(Oc.Must, self.translate(q.a)), (Oc.Should, self.translate(q.b))]
            )
        if isinstance(q, wq.Require):
            return Q.boolean_query(
                [
                    (Oc.Must, self.translate(q.a)),
                    (Oc.Must, Q.const_score_query(self.translate(q.b), 0.0)),
                ]
            )
        raise BadRequest(f"The search does not support {type(q).__name__} queries; drop it.")

    def _regex(self, name: str, pattern: str, boost: float) -> tantivy.Query:
        q = tantivy.Query.regex_query(self.schema, name, pattern)
        return tantivy.Query.boost_query(q, boost) if boost != 1.0 else q


def filtered(main: tantivy.Query, filters: list[tantivy.Query]) -> tantivy.Query:
    """`main` scored, `filters` only restricting it."""
    if not filters:
        return main
    Q, Oc = tantivy.Query, tantivy.Occur  # noqa: N806
    return Q.boolean_query(
        [(Oc.Must, main), *((Oc.Must, Q.const_score_query(f, 0.0)) for f in filters)]
    )


def any_of(layout: Layout, name: str, values: Iterable[str]) -> tantivy.Query:
    terms = [layout.term(name, v) for v in values]
    if len(terms) == 1:
        return terms[0]
    return tantivy.Query.boolean_query([(tantivy.Occur.Should, t) for t in terms])


# -- the index on disk ---------------------------------------------------------------------------

_OPEN: dict[str, tuple[tuple[int, int], tantivy.Index]] = {}


def _register(ix: tantivy.Index) -> tantivy.Index:
    ix.register_tokenizer("kho_fold", fold_analyzer())
    ix.register_tokenizer("kho_keys", keys_analyzer())
    return ix


def exists(path: Path) -> bool:
    return (path / "meta.json").is_file() and (path / MARKER).is_file()


def open_index(path: Path) -> tantivy.Index | None:
    """The index in `path`, opened once per commit (a commit or a swap opens it afresh)."""
    meta = path / "meta.json"
    try:
        key = (path.stat().st_ino, meta.stat().st_mtime_ns)
    except FileNotFoundError:
        return None
    kept = _OPEN.get(str(path))
    if kept and kept[0] == key:
        return kept[1]
    ix = _register(tantivy.Index.open(str(path)))
    _OPEN[str(path)] = (key, ix)
    return ix


def generation(path: Path) -> int | None:
    """Grows with each commit (and with each rebuild): the commit's time in nanoseconds."""
    try:
        return (path / "meta.json").stat().st_mtime_ns
    except FileNotFoundError:
        return None


def opstamp(path: Path) -> int:
    return int(json.loads((path / "meta.json").read_text(encoding="utf-8")).get("opstamp", 0))


def build(
    target: Path,
    layout: Layout,
    docs: Iterable[dict[str, object]],
    fmt: str,
    progress: Callable[[int], None] | None = None,
    threads: int = 1,
) -> int:
    """Write a whole index into the empty directory `target` (repository.search_text.write_beside
    swaps it in)."""
    ix = _register(tantivy.Index(layout.schema, path=str(target), reuse=False))
    writer = ix.writer(heap_size=WRITER_HEAP, num_threads=threads)
    count = 0
    try:
        for doc in docs:
            writer.add_document(layout.document(doc))
            count += 1
            if count % _COMMIT_EVERY == 0:
                writer.commit()
            if progress and count % 1000 == 0:
                progress(count)
        writer.commit()
        writer.wait_merging_threads()
    except BaseException:
        writer.rollback()
        raise
    mark(target, "tantivy", fmt)
    if progress:
        progress(count)
    return count
