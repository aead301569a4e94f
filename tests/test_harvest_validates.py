"""Everything the project ships validates: the whole harvested store against the shapes."""

from __future__ import annotations

from repository.config import PROJECT_DIR
from repository.store import Store
from repository.validation import load_shapes, validate_store


def test_harvested_store_conforms_to_the_shapes(store: Store) -> None:
    report = validate_store(store, load_shapes(PROJECT_DIR / "shapes"))
    assert report.conforms, report.text(lang="en")[:2000]
