"""The input collection: where each partition of a Dask DataFrame or Bag keeps its documents, and reading them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dask.bag as db
import dask.dataframe as dd

Collection = dd.DataFrame | db.Bag


@dataclass(frozen=True)
class Layout:
    """Where each partition of the input keeps its documents."""

    is_bag: bool
    text: str | None
    id: str | None
    content_type: str | None


def layout_of(collection: object, text: str | None, id_column: str | None, content_type: str | None) -> Layout:
    """The layout of ``collection`` from :func:`simdup.dask.dedup`'s column arguments, checked."""
    if isinstance(collection, dd.DataFrame):
        columns = list(collection.columns)
        for name, value in (("text_column", text), ("id_column", id_column), ("content_type_column", content_type)):
            if value is not None and value not in columns:
                raise ValueError(f"{name}={value!r} is not a column; columns: {', '.join(map(str, columns))}")
        if text is None:
            raise ValueError("text_column is required for a DataFrame")
        return Layout(False, text, id_column, content_type)
    if isinstance(collection, db.Bag):
        if content_type is not None:
            raise ValueError("content_type_column is for DataFrames; a Bag holds (page, content_type) pairs")
        if text is None and id_column is not None:
            raise ValueError("id_column needs a Bag of dicts (with text_column); a Bag of documents has no ids")
        return Layout(True, text, id_column, None)
    raise TypeError(f"expected a dask DataFrame or Bag, got {type(collection).__name__}")


def documents(part: Any, layout: Layout) -> tuple[list[Any], list[Any] | None]:
    """The documents of one input partition, and their ids (run on the workers)."""
    if not layout.is_bag:
        texts = part[layout.text].tolist()
        ids = part[layout.id].tolist() if layout.id else None
        if layout.content_type:
            texts = [(t, c if isinstance(c, str) else None) for t, c in zip(texts, part[layout.content_type])]
        return texts, ids
    items = list(part)
    if layout.text is None:
        return items, None
    try:
        texts = [item[layout.text] for item in items]
        ids = [item.get(layout.id) for item in items] if layout.id else None
    except (KeyError, TypeError, AttributeError):
        raise ValueError(f"every Bag item must be a dict with a {layout.text!r} key "
                         "(or pass text_column=None for a Bag of documents)") from None
    return texts, ids
