"""Candidate triples indexed in Python for repository/shacl_fast.py, with the store's semantics.

Terms are kept as their N-Triples text, which Oxigraph writes canonically, so two terms are the same
term exactly when their texts are equal. Oxigraph stores a well-typed numeric, boolean, date/time
or duration literal in canonical form ("01"^^xsd:integer becomes "1"); `Oracle` asks Oxigraph for
that form, and for the verdict of a SPARQL filter on values Python cannot judge with certainty, so
both paths see the very same terms and answers.
"""

from __future__ import annotations

import gc
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import pyoxigraph as ox

XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
SUBCLASS_OF = "<http://www.w3.org/2000/01/rdf-schema#subClassOf>"
LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
INTEGER_SUFFIX = f'"^^<{XSD}integer>'
# The canonical form of an xsd:integer Oxigraph keeps as a 64-bit value: stored as written.
CANONICAL_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]{0,17})\Z")
_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))")
_ECHAR = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
_BATCH = 2000
_CACHE_LIMIT = 400_000

Values = tuple[str, ...]


def literal_parts(term: str) -> tuple[str, str, str]:
    """(escaped lexical form, language, datatype IRI) of a literal in N-Triples text."""
    end = term.rfind('"')
    rest = term[end + 1 :]
    if not rest:
        return term[1:end], "", XSD + "string"
    if rest[0] == "@":
        return term[1:end], rest[1:], LANG_STRING
    return term[1:end], "", rest[3:-1]


def unescape(text: str) -> str:
    if "\\" not in text:
        return text
    return _ESCAPE.sub(lambda m: chr(int(m[1] or m[2], 16)) if m[3] is None else _ECHAR[m[3]], text)


def lexical(term: str) -> str:
    """STR() of an IRI or a literal, unescaped."""
    if term[0] == "<":
        return term[1:-1]
    return unescape(literal_parts(term)[0])


def term_text(term: str) -> str:
    """The term as validation.term_text writes it: IRI, _:id, or lexical form with @lang."""
    if term[0] == "<":
        return term[1:-1]
    if term[0] == "_":
        return term
    text, lang, _ = literal_parts(term)
    return unescape(text) + (f"@{lang}" if lang else "")


class Oracle:
    """Oxigraph's own answers for a few terms at a time, cached: stored forms, filter verdicts."""

    def __init__(self) -> None:
        self._store = ox.Store()
        self._lock = threading.Lock()
        self._stored: dict[str, str] = {}
        self._verdicts: dict[tuple[str, str], bool] = {}

    def stored(self, terms: Iterable[str]) -> dict[str, str]:
        """The stored N-Triples form of each typed literal."""
        with self._lock:
            todo = [t for t in dict.fromkeys(terms) if t not in self._stored]
            if len(self._stored) + len(todo) > _CACHE_LIMIT:
                self._stored.clear()
            for start in range(0, len(todo), _BATCH):
                batch = todo[start : start + _BATCH]
                rows = " ".join(f"({i} {t})" for i, t in enumerate(batch))
                query = f"SELECT ?i ?v WHERE {{ VALUES (?i ?v) {{ {rows} }} }}"
                for row in self._store.query(query):  # type: ignore[union-attr]
                    self._stored[batch[int(row["i"].value)]] = str(row["v"])
            return {t: self._stored[t] for t in terms}

    def failing(self, test: str, terms: Iterable[str]) -> set[str]:
        """The terms (IRIs or literals) for which `test`, a FILTER on ?value, keeps the row."""
        with self._lock:
            todo = [t for t in dict.fromkeys(terms) if (test, t) not in self._verdicts]
            if len(self._verdicts) + len(todo) > _CACHE_LIMIT:
                self._verdicts.clear()
            for start in range(0, len(todo), _BATCH):
                batch = todo[start : start + _BATCH]
                rows = " ".join(f"({i} {t})" for i, t in enumerate(batch))
                query = f"SELECT ?i WHERE {{ VALUES (?i ?value) {{ {rows} }} {test} }}"
                bad = {int(row["i"].value) for row in self._store.query(query)}  # type: ignore[union-attr]
                for i, t in enumerate(batch):
                    self._verdicts[(test, t)] = i in bad
            return {t for t in terms if self._verdicts[(test, t)]}


ORACLE = Oracle()


@contextmanager
def _no_gc() -> Iterator[None]:
    """Hundreds of thousands of small containers: the cyclic collector would only slow it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class TripleIndex:
    """predicate -> subject -> distinct objects, and the reverse, built from N-Triples text."""

    def __init__(
        self, ntriples: Iterable[str], *, stored_form: bool, keep_lines: bool = False
    ) -> None:
        """`stored_form`: the text was dumped from a store, so its literals are canonical already.
        `keep_lines`: keep each predicate's lines, for lines()."""
        texts = list(ntriples)
        typed = self._build(texts, keep_lines)
        todo = [] if stored_form else [t for t in typed if not _canonical_integer(t)]
        if todo and any(old != new for old, new in ORACLE.stored(todo).items()):
            self._build([stored_text(t) for t in texts], keep_lines)  # rare: index stored forms
        self._clean: set[str] = set()
        self._in: dict[str, dict[str, Values]] = {}
        self._in_multi: dict[str, set[str]] = {}
        self._down: dict[str, set[str]] = {}

    def _build(self, texts: list[str], keep_lines: bool) -> set[str]:
        """Index the lines; return the typed literals seen."""
        raw: dict[str, dict[str, Values | list[str]]] = {}
        multi: dict[str, set[str]] = {}
        kept: dict[str, list[str]] = {}
        typed: set[str] = set()
        with _no_gc():
            for text in texts:
                for line in text.split(" .\n"):
                    if not line:
                        continue
                    s, p, o = line.split(" ", 2)
                    if o[-1] == ">" and o[0] == '"':
                        typed.add(o)
                    by_subject = raw.get(p)
                    if by_subject is None:
                        by_subject = raw[p] = {}
                        multi[p], kept[p] = set(), []
                    if keep_lines:
                        kept[p].append(line)
                    v = by_subject.get(s)
                    if v is None:
                        by_subject[s] = (o,)
                    elif v.__class__ is tuple:
                        by_subject[s] = [*v, o]
                        multi[p].add(s)
                    else:
                        v.append(o)  # type: ignore[union-attr]
        self._raw, self._multi, self._lines = raw, multi, kept
        return typed

    def lines(self, p: str) -> str:
        """The triples of `p` as N-Triples text (needs keep_lines)."""
        kept = self._lines.get(p)
        return " .\n".join(kept) + " .\n" if kept else ""

    def out(self, p: str) -> dict[str, Values]:
        """subject -> distinct objects of `p`."""
        found = self._raw.get(p)
        if found is None:
            return {}
        if p not in self._clean:
            for s in self._multi[p]:
                found[s] = tuple(dict.fromkeys(found[s]))
            self._clean.add(p)
        return found  # type: ignore[return-value]

    def multi(self, p: str, *, inverse: bool = False) -> set[str]:
        """The subjects (objects, if `inverse`) that may have more than one value of `p`."""
        if not inverse:
            self.out(p)
            return self._multi.get(p, set())
        found = self._in_multi.get(p)
        if found is None:
            found = self._in_multi[p] = {o for o, ss in self.inverse(p).items() if len(ss) > 1}
        return found

    def inverse(self, p: str) -> dict[str, Values]:
        """object -> distinct subjects of `p`."""
        found = self._in.get(p)
        if found is None:
            lists: dict[str, list[str]] = {}
            with _no_gc():
                for s, objects in self.out(p).items():
                    for o in objects:
                        subjects = lists.get(o)
                        if subjects is None:
                            lists[o] = [s]
                        else:
                            subjects.append(s)
                found = self._in[p] = {o: tuple(ss) for o, ss in lists.items()}
        return found

    def instances(self, cls: str) -> set[str]:
        """Subjects of rdf:type/rdfs:subClassOf* `cls`, as the SPARQL path matches them."""
        types = self.inverse(RDF_TYPE)
        found: set[str] = set()
        for c in self.subclasses(cls):
            found.update(types.get(c, ()))
        return found

    def subclasses(self, cls: str) -> set[str]:
        """`cls` and everything rdfs:subClassOf+ it."""
        down = self._down.get(cls)
        if down is None:
            below = self.inverse(SUBCLASS_OF)
            down, todo = {cls}, [cls]
            while todo:
                for sub in below.get(todo.pop(), ()):
                    if sub not in down:
                        down.add(sub)
                        todo.append(sub)
            self._down[cls] = down
        return down


# A typed literal ending an N-Triples line (the object): the only place a literal can be.
_TYPED_OBJECT = re.compile(r' ("(?:[^"\\\n]|\\.)*"\^\^<[^>\s]*>) \.$', re.MULTILINE)


def stored_text(text: str) -> str:
    """N-Triples text with each typed literal in the form the store would give it back."""
    todo = [t for t in set(_TYPED_OBJECT.findall(text)) if not _canonical_integer(t)]
    renamed = {old: new for old, new in ORACLE.stored(todo).items() if old != new}
    if not renamed:
        return text
    return _TYPED_OBJECT.sub(lambda m: f" {renamed.get(m[1], m[1])} .", text)


def _canonical_integer(term: str) -> bool:
    return term.endswith(INTEGER_SUFFIX) and bool(
        CANONICAL_INTEGER.match(term, 1, len(term) - len(INTEGER_SUFFIX))
    )
