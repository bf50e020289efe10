"""Hugging Face ``datasets``: a ``datasets.Dataset`` given to :func:`simdup.dedup`, its kept rows as a Dataset.

:func:`simdup.dedup` calls :func:`dataset_texts` when its ``docs`` is a
Dataset and :func:`select_kept` on the result; saved datasets on disk are a
corpus format of :mod:`simdup.corpus` (``HfCorpus``, for ``simdup dedup``).

Nothing here imports ``datasets`` (a second or so, and hundreds of
modules): an object can only be a Dataset if the user's program imported
the package already, so :func:`is_dataset` looks in ``sys.modules``.
Needs ``pip install 'simdup[hf]'``.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import numpy.typing as npt

BATCH_ROWS = 1 << 14
"""Rows read per Arrow batch: large enough that the per-batch cost vanishes, small enough to bound the copy."""

TEXT_TYPES = ("string", "large_string", "string_view", "binary", "large_binary", "binary_view")
"""Column types (``datasets.Value`` dtypes) read as documents: text, or bytes (HTML pages, as for any ``docs``)."""


def is_dataset(obj: object) -> bool:
    """True for any object of ``datasets``' dataset classes (Dataset, DatasetDict and their streaming kinds)."""
    datasets = sys.modules.get("datasets")
    if datasets is None:
        return False
    kinds = tuple(getattr(datasets, name) for name in ("Dataset", "DatasetDict", "IterableDataset",
                                                        "IterableDatasetDict") if hasattr(datasets, name))
    return isinstance(obj, kinds)


def dataset_texts(ds: Any, text_column: str | None) -> list[str | bytes]:
    """The documents of column ``text_column`` (default ``"text"``) of the Dataset ``ds``, in row order.

    The column alone is read, in Arrow batches of :data:`BATCH_ROWS` rows
    (through any indices mapping of ``ds``: a ``select``, ``shuffle`` or
    ``filter`` result reads its own rows), never as Python dicts per row.

    Raises
    ------
    TypeError
        ``text_column`` is not a str, or ``ds`` is a ``DatasetDict`` or an
        ``IterableDataset`` (streaming), or not a Dataset at all.
    ValueError
        No column ``text_column``, a column that is not text, or a null text;
        the message names the column and the dataset's columns.
    """
    import datasets  # already imported: the caller holds one of its objects

    text_column = "text" if text_column is None else text_column
    if not isinstance(text_column, str):
        raise TypeError(f"text_column must be a column name (str), got {type(text_column).__name__}")
    if isinstance(ds, (datasets.DatasetDict, datasets.IterableDatasetDict)):
        raise TypeError(f"a {type(ds).__name__} holds several splits ({', '.join(ds)}): deduplicate one "
                        "(ds['train']) or all as one corpus (datasets.concatenate_datasets(list(ds.values())))")
    if isinstance(ds, datasets.IterableDataset):
        # Its rows cannot be selected afterwards, and reading it again may not give the same rows.
        raise TypeError("a streaming IterableDataset is not supported: its kept rows could not be selected; "
                        "load it without streaming=True, or materialise it (Dataset.from_generator)")
    if not isinstance(ds, datasets.Dataset):
        raise TypeError(f"expected a datasets.Dataset, got {type(ds).__name__}")
    columns = ds.column_names
    if text_column not in columns:
        raise ValueError(f"the dataset has no column {text_column!r} (columns: {', '.join(columns) or 'none'}); "
                         "name the text column with text_column=")
    feature = ds.features[text_column]
    dtype = getattr(feature, "dtype", None)
    if not isinstance(feature, datasets.Value) or dtype not in TEXT_TYPES:
        raise ValueError(f"column {text_column!r} is not text ({feature}); columns: {', '.join(columns)}")
    texts: list[str | bytes] = []
    for table in ds.select_columns([text_column]).with_format("arrow").iter(batch_size=BATCH_ROWS):
        column = table.column(0)
        if column.null_count:
            row = len(texts) + int(np.argmax(column.is_null().to_numpy(zero_copy_only=False)))
            raise ValueError(f"row {row}: column {text_column!r} is null; drop such rows first "
                             f"(ds.filter(lambda t: t is not None, input_columns={text_column!r}))")
        texts += column.to_pylist()
    return texts


def select_kept(ds: Any, keep: npt.NDArray[np.bool_]) -> Any:
    """The rows of ``ds`` whose ``keep`` flag is set, every column, in order: ``ds.select`` (an indices
    mapping, or a slice when the kept rows are contiguous; no data is copied)."""
    return ds.select(np.flatnonzero(keep))
