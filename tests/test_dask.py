"""simdup.dask: the distributed pipeline gives simdup.dedup's result, on Dask's schedulers and a LocalCluster."""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
import dask.bag as db
import pandas as pd
import shared_data
from internals import clusters
from reference import sklearn_idf as _sklearn_idf

from simdup import DedupResult, SimHasher, dedup
from simdup.dask import dedup as dask_dedup
from simdup.distributed.components import components
from simdup.batch import clusters
from simdup.idf import idf_from_df

FIELDS = ("fingerprints", "n_tokens", "labels", "representative", "keep", "distance")


def assert_same(local: DedupResult, got: DedupResult) -> None:
    for name in FIELDS:
        a, b = getattr(local, name), getattr(got, name)
        assert a.dtype == b.dtype or name in ("labels", "representative"), name
        assert np.array_equal(a, b), f"{name} differs at {np.flatnonzero(a != b)[:10].tolist()}"
    for name in ("i", "j", "distance"):
        assert np.array_equal(getattr(local.pairs, name), getattr(got.pairs, name)), f"pairs.{name}"
    if local.jaccard is None:
        assert got.jaccard is None
    else:
        assert got.jaccard is not None and np.array_equal(local.jaccard, got.jaccard)
    # The evidence of every removal, as the local run settles it (simdup.clustering.settle).
    assert local.evidence is not None and got.evidence is not None
    for name in ("match", "distance", "jaccard", "reason", "reference"):
        a, b = getattr(local.evidence, name), getattr(got.evidence, name)
        if a is None:
            assert b is None, f"evidence.{name}"
            continue
        assert a.dtype == b.dtype, f"evidence.{name}: {a.dtype} != {b.dtype}"
        assert np.array_equal(a, b, equal_nan=name == "jaccard"), \
            f"evidence.{name} differs at {np.flatnonzero(a != b)[:10].tolist()}"
    if local.kept_reference is None:
        assert got.kept_reference is None
    else:
        assert got.kept_reference is not None and local.kept_reference.dtype == got.kept_reference.dtype
        assert np.array_equal(local.kept_reference, got.kept_reference)
    assert local.reference == got.reference


@pytest.fixture
def sync_scheduler():
    with dask.config.set(scheduler="sync"):
        yield


@pytest.fixture(scope="module")
def reuters() -> list[dict]:
    shared_data.require("reuters21578.jsonl.gz")
    return shared_data.records("reuters21578.jsonl.gz")


def frame(records: list[dict], npartitions: int) -> dd.DataFrame:
    return dd.from_pandas(pd.DataFrame({"id": [r["id"] for r in records], "text": [r["text"] for r in records]}),
                          npartitions=npartitions, sort=False)


# -- pieces ------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 10**6), min_size=1, max_size=50), st.integers(0, 10**6), st.booleans())
def test_idf_from_df_is_scikit_learns_bit_for_bit(df: list[int], extra: int, smooth: bool) -> None:
    df_arr = np.array(df, dtype=np.int64)
    n_docs = int(df_arr.max()) + extra
    rows = np.concatenate([np.arange(d) for d in df])  # document r holds term t when r < df[t]
    columns = np.repeat(np.arange(len(df)), df)
    order = np.lexsort((columns, rows))
    indptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=n_docs))]
    expected = _sklearn_idf(indptr, columns[order], len(df), smooth)
    assert np.array_equal(idf_from_df(df_arr, n_docs, smooth), expected)


def test_fit_from_frequencies_equals_fit(reuters: list[dict]) -> None:
    docs = [r["text"] for r in reuters[:800]]
    fitted = SimHasher(min_df=2).fit(docs)
    hasher = SimHasher(min_df=2)
    from simdup import _core

    _, terms = _core.doc_terms(hasher._prepare(docs), 1, 1, hasher._preparer().flags)
    vocabulary, df = np.unique(terms, return_counts=True)
    hasher._fit_frequencies(vocabulary, df, len(docs))
    assert np.array_equal(hasher.vocabulary_, fitted.vocabulary_)
    assert np.array_equal(hasher._idf_q, fitted._idf_q) and hasher._unseen_q == fitted._unseen_q


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 120), st.lists(st.tuples(st.integers(0, 119), st.integers(0, 119)), min_size=1, max_size=150),
       st.booleans(), st.integers(1, 5))
def test_distributed_components_equal_union_find(n: int, edges: list[tuple[int, int]], path: bool,
                                                  npartitions: int) -> None:
    if path:  # one long chain in random order: the most rounds
        order = np.random.default_rng(n).permutation(n)
        edges = list(zip(order[:-1].tolist(), order[1:].tolist()))
    edges = [(a % n, b % n) for a, b in edges if a % n != b % n]
    if not edges:
        return
    i, j = (np.array(x, dtype=np.int64) for x in zip(*edges))
    links = dd.from_pandas(pd.DataFrame({"i": i, "j": j}), npartitions=min(npartitions, len(i)))
    with dask.config.set(scheduler="sync"):
        got = components(links, npartitions).compute()
    expected = clusters(n, i, j)
    nodes = np.unique(np.r_[i, j])
    got = got.sort_values("node")
    assert got["node"].tolist() == nodes.tolist()
    assert got["label"].tolist() == expected[nodes].tolist()


# -- the pipeline against simdup.dedup ------------------------------------------------------


@pytest.mark.usefixtures("sync_scheduler")
@pytest.mark.parametrize("params", [
    {},
    {"k": 3, "verify": None},
    {"keep": "longest", "k": 8},
    {"max_local_links": 0},  # clusters found on the workers
    {"hasher": "default"},
])
def test_same_result_as_dedup(reuters: list[dict], params: dict) -> None:
    records = reuters[:2500]
    texts = [r["text"] for r in records]
    local_params = {k: v for k, v in params.items() if k != "max_local_links"}
    if params.get("hasher") == "default":
        params["hasher"] = local_params["hasher"] = SimHasher.default()
    local = dedup(texts, **local_params)
    result = dask_dedup(frame(records, 7), id_column="id", **params)
    assert_same(local, result.to_local())
    assert result.summary["duplicates_removed"] == local.summary["duplicates_removed"] > 20
    assert result.summary["pairs"] == len(local.pairs.i)
    kept = result.kept.compute()
    assert kept["id"].tolist() == [r["id"] for r, k in zip(records, local.keep) if k]
    table = result.clusters.compute()
    assert (table["kept_id"] == [records[p]["id"] for p in table["kept_position"]]).all()


@pytest.mark.usefixtures("sync_scheduler")
def test_bag_of_documents_and_of_dicts(reuters: list[dict]) -> None:
    texts = [r["text"] for r in reuters[:1200]]
    local = dedup(texts, k=4)
    plain = dask_dedup(db.from_sequence(texts, npartitions=3), k=4, text_column=None)
    assert_same(local, plain.to_local())
    assert plain.kept.compute() == [t for t, k in zip(texts, local.keep) if k]
    dicts = dask_dedup(db.from_sequence(reuters[:1200], npartitions=4), k=4, id_column="id")
    assert_same(local, dicts.to_local())


@pytest.mark.usefixtures("sync_scheduler")
def test_html_pages_with_their_content_types() -> None:
    pytest.importorskip("resiliparse", reason="HTML input needs the html extra")
    shared_data.require("web_pages_trafilatura.jsonl.gz")
    pages = [r["html"].encode("utf-8") for r in shared_data.iter_records("web_pages_trafilatura.jsonl.gz", 120)]
    pages += pages[::7]  # exact copies: the same main content
    types = ["text/html; charset=utf-8" if n % 2 else None for n in range(len(pages))]
    hasher = SimHasher.default().set_params(input="html")
    local = dedup(list(zip(pages, types)), k=3, hasher=hasher)
    with dask.config.set({"dataframe.convert-string": False}):  # else Dask turns the bytes into str
        table = dd.from_pandas(pd.DataFrame({"html": pd.Series(pages, dtype=object), "type": types}),
                               npartitions=3)
    result = dask_dedup(table, k=3, hasher=hasher, text_column="html", content_type_column="type")
    assert_same(local, result.to_local())
    kept = result.kept.compute()["html"].tolist()
    assert kept == [p for p, k in zip(pages, local.keep) if k]  # bytes stay bytes
    # Most copies are found; a few are decoded under another charset than their original (the header differs).
    assert result.summary["duplicates_removed"] >= 15


@pytest.mark.usefixtures("sync_scheduler")
def test_identical_fingerprints_with_different_texts_stay_linked_as_in_dedup() -> None:
    # Same words, different order: one fingerprint, low shingle Jaccard; the copies must stay linked.
    docs = ["alpha beta gamma delta epsilon", "epsilon delta gamma beta alpha", "epsilon delta gamma beta alpha",
            "gamma alpha epsilon beta delta", "gamma alpha epsilon beta delta", "zeta eta theta", ""]
    hasher = SimHasher(use_idf=False)
    local = dedup(docs, k=0, hasher=hasher)
    assert local.keep.tolist() == [True, True, False, True, False, True, True]
    result = dask_dedup(db.from_sequence(docs, npartitions=3), k=0, hasher=hasher, text_column=None)
    assert_same(local, result.to_local())


@pytest.mark.usefixtures("sync_scheduler")
def test_hubs_of_a_shared_fingerprint_are_compared_across_fingerprints_as_in_dedup() -> None:
    # Three orders of the same words (one fingerprint, three texts) and the same three with a word
    # changed (another fingerprint within k, in the reverse order): only the texts' later hubs, not the
    # groups' first documents, can find each order's near copy. Document 6 copies document 1.
    words = ("crude oil prices rose sharply on monday as traders said the cartel would cut output again next "
             "month while stocks in the united states fell for a third week running and analysts expected "
             "refiners to raise their margins before the summer driving season began in earnest across europe "
             "asia and latin america where demand").split()
    shuffled = words[:]
    random.Random(7).shuffle(shuffled)
    orders = [words, words[::-1], shuffled]
    same = [" ".join(o) for o in orders]
    edited = [" ".join("today" if w == "oil" else w for w in o) for o in orders]
    docs = same + edited[::-1] + [same[1], "zeta eta theta", ""]
    hasher = SimHasher(use_idf=False)
    local = dedup(docs, k=8, hasher=hasher, verify=0.8)
    assert len(set(local.fingerprints[:3].tolist())) == len(set(local.fingerprints[3:6].tolist())) == 1
    assert list(zip(local.pairs.i.tolist(), local.pairs.j.tolist())) == [(0, 5), (1, 4), (1, 6), (2, 3)]
    assert local.labels.tolist() == [0, 1, 2, 2, 1, 0, 1, 7, 8]
    for npartitions in (1, 3, 4):
        result = dask_dedup(db.from_sequence(docs, npartitions=npartitions), k=8, hasher=hasher, text_column=None)
        assert_same(local, result.to_local())


@pytest.mark.usefixtures("sync_scheduler")
def test_empty_partitions(reuters: list[dict]) -> None:
    records = reuters[:600]
    table = frame(records, 6).map_partitions(lambda p: p[(p.index < 100) | (p.index >= 400)])
    # six partitions of 100 rows: rows 100..399 go, so partitions 1, 2 and 3 are left empty
    kept = [r for n, r in enumerate(records) if n < 100 or n >= 400]
    local = dedup([r["text"] for r in kept], k=8)
    result = dask_dedup(table, k=8, id_column="id")
    assert [len(p) for p in dask.compute(*table.to_delayed())] == [100, 0, 0, 0, 100, 100]
    assert_same(local, result.to_local())
    assert result.kept.compute()["id"].tolist() == [r["id"] for r, k in zip(kept, local.keep) if k]


@pytest.mark.usefixtures("sync_scheduler")
def test_empty_and_token_less_collections() -> None:
    empty = dask_dedup(db.from_sequence([], npartitions=1), text_column=None)
    assert empty.summary["documents"] == 0 and empty.kept.compute() == []
    assert_same(dedup([]), empty.to_local())
    blank = ["", "!!!", "", "   "]
    result = dask_dedup(db.from_sequence(blank, npartitions=2), text_column=None, hasher=SimHasher(use_idf=False))
    assert result.summary["token_less_documents"] == 4 and result.kept.compute() == blank


@pytest.mark.usefixtures("sync_scheduler")
def test_bad_input() -> None:
    df = dd.from_pandas(pd.DataFrame({"body": ["a b c"]}), npartitions=1)
    with pytest.raises(ValueError, match="text_column='text' is not a column"):
        dask_dedup(df)
    with pytest.raises(ValueError, match="keep"):
        dask_dedup(df, text_column="body", keep=lambda i: i)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="k must be"):
        dask_dedup(df, text_column="body", k=11)
    with pytest.raises(ValueError, match="verify"):
        dask_dedup(df, text_column="body", verify=2.0)
    with pytest.raises(TypeError, match="dask DataFrame or Bag"):
        dask_dedup(["a", "b"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must be a dict"):
        dask_dedup(db.from_sequence(["a b", "c d"]))
    with pytest.raises(ValueError, match="id_column needs a Bag of dicts"):
        dask_dedup(db.from_sequence(["a b", "c d"]), text_column=None, id_column="id")
    with pytest.raises(ValueError, match="npartitions"):
        dask_dedup(df, text_column="body", npartitions=0)
    with pytest.raises(TypeError, match="str or bytes"):
        dask_dedup(dd.from_pandas(pd.DataFrame({"text": [1.5, 2.5]}), npartitions=1))
    result = dask_dedup(df, text_column="body", hasher=SimHasher(use_idf=False))
    with pytest.raises(ValueError, match="partitions"):
        result.select_kept(dd.from_pandas(pd.DataFrame({"x": range(4)}), npartitions=2))


# -- on a cluster -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                       silence_logs=logging.ERROR)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def read_bag(path: Path, npartitions: int) -> db.Bag:
    return db.read_text(str(path), blocksize=None).map(json.loads).repartition(npartitions=npartitions)


def shared_texts(name: str, limit: int | None = None) -> list[str]:
    shared_data.require(name)
    return shared_data.texts(name, limit, nonblank=False)


def test_local_cluster_on_real_data_matches_dedup(client, reuters: list[dict]) -> None:
    # All of Reuters-21578, read by the workers from the shared file.
    texts = [r["text"] for r in reuters]
    local = dedup(texts)
    result = dask_dedup(read_bag(shared_data.path("reuters21578.jsonl.gz"), 6), id_column="id")
    assert_same(local, result.to_local())
    assert result.summary["duplicates_removed"] == local.summary["duplicates_removed"] > 300
    # Chinese: a slice of Fudan (jieba), each document its own partition row.
    fudan = shared_texts("fudan_zh.jsonl.gz", 300)
    local = dedup(fudan, k=6)
    result = dask_dedup(db.from_sequence(fudan, npartitions=4), text_column=None)
    assert_same(local, result.to_local())


def test_a_worker_killed_mid_job_changes_nothing(client, reuters: list[dict]) -> None:
    texts = [r["text"] for r in reuters]
    local = dedup(texts)
    victim = next(iter(client.run(os.getpid).values()))
    killed = threading.Event()

    def kill_soon(phase: str) -> None:
        # Mid-fingerprinting: its persisted partitions are lost and must be recomputed.
        if phase == "fingerprint":
            threading.Timer(0.3, lambda: (os.kill(victim, signal.SIGKILL), killed.set())).start()

    result = dask_dedup(read_bag(shared_data.path("reuters21578.jsonl.gz"), 8), id_column="id", progress=kill_soon)
    assert killed.wait(10)
    assert_same(local, result.to_local())
    assert victim not in client.run(os.getpid).values()  # the nanny started a new worker
