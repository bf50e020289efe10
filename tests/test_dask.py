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

from simdup import DedupResult, SimHasher, SimHashIndex, dedup
from simdup.clustering import REASONS
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


# -- against a reference ------------------------------------------------------------------

PLANTED = (3, 250, 777, 1199)  # new documents copied (edited) into the reference


@pytest.fixture(scope="module")
def new_and_reference(reuters: list[dict]) -> tuple[list[dict], list[dict]]:
    """1,202 new documents (two of them edited copies of others) and 1,004 reference documents
    (four of them edited copies of new ones, at reference positions 500 to 503)."""
    new = reuters[:1200] + [{"id": "again-40", "text": reuters[40]["text"] + " (again)"},
                            {"id": "again-3", "text": "Reuters - " + reuters[3]["text"]}]
    other = reuters[1200:2200]
    reference = other[:500] + [{"id": f"copy-{p}", "text": reuters[p]["text"] + " (reuters)"} for p in PLANTED] \
        + other[500:]
    return new, reference


def assert_planted(result: DedupResult, keys: list[int]) -> None:
    reference = REASONS.index("reference")
    for p, key in zip(PLANTED, keys):
        assert result.representative[p] == -1 and result.kept_reference[p] == key
        assert result.evidence.reason[p] == reference and result.evidence.reference[p] == key
    # The copy of 3 went with it (its cluster is kept in the reference); the copy of 40 is a plain duplicate.
    assert result.labels[1201] == 3 and result.representative[1201] == -1 and result.kept_reference[1201] == keys[0]
    assert result.labels[1200] == 40 and result.keep[[40, 1200]].sum() == 1  # (keep="longest" keeps the copy)
    removed, kept = (1200, 40) if result.keep[40] else (40, 1200)
    assert result.evidence.match[removed] == kept and REASONS[result.evidence.reason[removed]] == "near_duplicate"


@pytest.mark.usefixtures("sync_scheduler")
@pytest.mark.parametrize("params", [{}, {"max_local_links": 0}, {"keep": "longest"}, {"verify": None, "k": 6}])
def test_against_documents_same_result_as_dedup(new_and_reference, params: dict) -> None:
    new, reference = new_and_reference
    local_params = {k: v for k, v in params.items() if k != "max_local_links"}
    local = dedup([r["text"] for r in new], against=[r["text"] for r in reference], **local_params)
    assert_planted(local, [500, 501, 502, 503])
    result = dask_dedup(frame(new, 5), id_column="id", against=frame(reference, 3), **params)
    got = result.to_local()
    assert_same(local, got)
    assert local.reference == {"kind": "documents", "documents": 1004, "k": params.get("k", 8),
                               "verified": "verify" not in params}
    assert result.summary["reference"] == local.summary["reference"]
    for key in ("documents", "kept", "duplicates_removed", "clusters", "largest_cluster", "pairs"):
        assert result.summary[key] == local.summary[key], key
    kept = result.kept.compute()["id"].tolist()
    assert kept == [r["id"] for r, k in zip(new, local.keep) if k]
    assert "again-3" not in kept and not {new[p]["id"] for p in PLANTED} & set(kept)
    assert ("again-40" in kept) != (new[40]["id"] in kept)
    # The table names reference documents by their ids.
    table = result.clusters.compute().set_index("position")
    assert table.loc[list(PLANTED), "kept_id"].tolist() == [f"copy-{p}" for p in PLANTED]
    assert table.loc[list(PLANTED), "matched_id"].tolist() == [f"copy-{p}" for p in PLANTED]
    removed, kept = (1200, 40) if local.keep[40] else (40, 1200)
    assert table.loc[removed, "matched_id"] == new[kept]["id"] and table.loc[removed, "reason"] == "near_duplicate"


@pytest.mark.usefixtures("sync_scheduler")
def test_against_an_index_same_result_as_dedup(new_and_reference) -> None:
    new, reference = new_and_reference
    hasher = SimHasher.default()
    index = SimHashIndex(6)  # k=8 asked: matched within 6, the index's k
    keys = 10_000 + 7 * np.arange(len(reference), dtype=np.uint64)  # ids are not positions
    index.add_many(hasher.transform([r["text"] for r in reference]), keys)
    texts = [r["text"] for r in new]
    local = dedup(texts, hasher=hasher, against=index)
    assert_planted(local, keys[500:504].tolist())
    assert local.reference == {"kind": "index", "documents": 1004, "k": 6, "verified": False}
    for params in ({}, {"max_local_links": 0}):
        result = dask_dedup(frame(new, 4), id_column="id", hasher=hasher, against=index, **params)
        assert_same(local, result.to_local())
        assert result.summary["reference"] == local.summary["reference"]
        table = result.clusters.compute().set_index("position")
        assert table.loc[list(PLANTED), "kept_reference"].tolist() == keys[500:504].tolist()
        assert table.loc[list(PLANTED), "kept_id"].isna().all()  # an index has no names: the CLI has them
    # The default hasher is the index's when none is given, as in simdup.dedup.
    assert_same(local, dask_dedup(frame(new, 2), id_column="id", against=index).to_local())


@pytest.mark.usefixtures("sync_scheduler")
def test_against_a_bag_unfitted_hasher_fits_on_both(new_and_reference) -> None:
    new, reference = new_and_reference
    new, reference = new[1100:] + new[:60], reference[450:560]  # few documents: the IDF of both matters
    texts, reference_texts = [r["text"] for r in new], [r["text"] for r in reference]
    local = dedup(texts, k=6, against=reference_texts)
    result = dask_dedup(db.from_sequence(texts, npartitions=3), k=6, text_column=None,
                        against=db.from_sequence(reference_texts, npartitions=2))
    assert_same(local, result.to_local())
    # The fingerprints are equal, so the hasher was fitted on both collections; the planted copies match.
    assert {99, 101, 105} <= set(np.flatnonzero(local.representative == -1).tolist())  # 1199, again-3, 3


@pytest.mark.usefixtures("sync_scheduler")
def test_against_bad_input() -> None:
    docs = db.from_sequence(["a b c d", "a b c d"], npartitions=1)
    index = SimHashIndex(3)
    with pytest.raises(ValueError, match="fitted hasher"):
        dask_dedup(docs, text_column=None, hasher=SimHasher(), against=index)
    with pytest.raises(TypeError, match="against must be"):
        dask_dedup(docs, text_column=None, against=["a b c d"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="against: text_column='text' is not a column"):
        dask_dedup(dd.from_pandas(pd.DataFrame({"text": ["x y"]}), npartitions=1),
                   against=dd.from_pandas(pd.DataFrame({"body": ["x y"]}), npartitions=1))
    # An empty reference, or an empty input, is no reference match.
    empty = dask_dedup(docs, text_column=None, hasher=SimHasher(use_idf=False), against=index)
    assert empty.summary["reference"]["matched"] == 0 and empty.summary["duplicates_removed"] == 1
    assert_same(dedup(["a b c d", "a b c d"], hasher=SimHasher(use_idf=False), against=index), empty.to_local())
    nothing = dask_dedup(db.from_sequence([], npartitions=1), text_column=None, against=docs)
    assert_same(dedup([], against=["a b c d"]), nothing.to_local())

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


@pytest.mark.slow  # (a LocalCluster run: CI runs it with the slow tests)
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


@pytest.mark.slow  # (a LocalCluster run: CI runs it with the slow tests)
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



@pytest.mark.slow  # (a LocalCluster run: CI runs it with the slow tests)
def test_against_on_a_local_cluster(client, new_and_reference) -> None:
    # Worker processes: the reference's fingerprints travel pickled and are indexed on each worker.
    new, reference = new_and_reference
    texts, reference_texts = [r["text"] for r in new], [r["text"] for r in reference]
    local = dedup(texts, against=reference_texts)
    result = dask_dedup(frame(new, 4), id_column="id", against=frame(reference, 3), max_local_links=0)
    assert_same(local, result.to_local())
    hasher = SimHasher.default()
    index = SimHashIndex(8)
    index.add_many(hasher.transform(reference_texts), np.arange(len(reference), dtype=np.uint64) + 5)
    local = dedup(texts, hasher=hasher, against=index)
    assert_planted(local, [505, 506, 507, 508])
    assert_same(local, dask_dedup(frame(new, 4), id_column="id", hasher=hasher, against=index).to_local())
