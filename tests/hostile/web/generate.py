"""The big cases of the web corpus, made at test time (a megabyte of query text has no place in
git). Each is (name, query text, expected status, a fragment of the message)."""

from __future__ import annotations

BASE = "SELECT * WHERE { ?s ?p ?o } LIMIT 1 "


def sparql_cases() -> list[tuple[str, str, int, str]]:
    return [
        # 1 MB of query text: refused before it is read any further.
        ("huge-1mb", BASE + "#" + "x" * 1_000_000, 413, "characters long"),
        # Thousands of nested groups overflow the parser's stack (it ended the worker).
        ("nested-5000", "SELECT * WHERE " + "{" * 5000 + " ?s ?p ?o " + "}" * 5000, 400, "levels"),
        (
            "nested-parens-5000",
            BASE.replace("?o }", "?o FILTER(" + "(" * 5000 + "1" + ")" * 5000 + ") }"),
            400,
            "levels",
        ),
        # Quotes that never close, 200 KB of them: each used to be scanned to the end of the text
        # from every quote (minutes of the web process for one request).
        (
            "unclosed-quotes-200k",
            'SELECT * WHERE { ?s ?p "' + '\\"' * 100_000 + " }",
            400,
            "not closed",
        ),
        (
            "unclosed-long-string-200k",
            'SELECT * WHERE { ?s ?p """' + 'a\\"' * 70_000 + " }",
            400,
            "not closed",
        ),
        # Long chains without brackets overflow the engine's stack while it evaluates: the
        # worker ends, the web process does not; 503, and the next query runs (the message
        # blames memory: see README).
        ("not-chain-20000", "ASK { FILTER(" + "!" * 20_000 + "true) }", 503, ""),
        ("and-chain-20000", "ASK { FILTER(" + "&&".join(["true"] * 20_000) + ") }", 503, ""),
        ("after-the-chains", "ASK { ?s ?p ?o }", 200, ""),
        # '<' that opens no IRI, 200 KB of it, where the dataset's FROM and PREFIX are read.
        ("open-iris-after-prefix-200k", BASE + "PREFIX a:<" * 20_000, 400, "syntax"),
        (
            "open-iris-after-from-200k",
            "SELECT * " + "FROM <" * 33_000 + "WHERE { }",
            400,
            "syntax",
        ),
    ]


def search_cases() -> list[tuple[str, int]]:
    """(path, status): search text of every length. 50,000 characters of one word took the
    records search 84 s, 100,000 the units search 8 minutes (of the web process): over 500
    characters is now refused."""
    return [
        ("/records?q=" + "đ" * 50_000, 400),
        ("/records?q=" + "a " * 20_000, 400),
        ("/search?q=" + "a" * 100_000, 400),
        ("/records?q=" + "a " * 250, 200),  # at the limit: answered
        ("/search?q=" + "đ " * 250, 200),
        ("/records?q=" + "(" * 500, 200),
    ]
