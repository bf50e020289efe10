"""Bad-input catalogue of the Python API (issue 13): index, Deduper, SimHasher,
dedup, distances, kernels, model and index files. Each case is its own test and
each ends in a documented result or a clear TypeError / ValueError, never a
crash, a hang or a silent wrong answer.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest
from internals import shingle_sets

import simdup
from simdup import (
    Deduper,
    SimHasher,
    SimHashIndex,
    as_fingerprints,
    dedup,
    find_duplicates,
    hamming,
    similarity,
)
from simdup.index import _file as _index_file
from simdup.index.plan import candidate_plans

TOKENLESS = ["", "!!!", "😀🎉", "\u200b", "  \n\t ",
             "<html><head><script>var x = 1;</script></head><body></body></html>"]


# --------------------------------------------------------------------------- 6
# Token-less documents are never near-duplicates (README), whatever the API.

def test_deduper_tokenless_is_not_a_duplicate_of_tokenless():
    d = Deduper(SimHasher.default(), k=3, expected_n=100)
    assert d.is_duplicate("a", "") is False
    assert d.is_duplicate("b", "!!!") is False  # was True: both fingerprint 0
    assert len(d) == 0 and "a" not in d and "b" not in d


@pytest.mark.parametrize("doc", TOKENLESS, ids=repr)
def test_deduper_never_stores_or_matches_tokenless(doc):
    d = Deduper(SimHasher.default(), k=3, expected_n=100)
    assert d.add("first", "") is False
    assert d.add_if_new("x", doc) == (False, [])
    assert d.duplicates(doc) == [] and d.is_duplicate("y", doc) is False
    assert d.add("z", "some real words") is True
    assert d.duplicates(doc) == [] and len(d) == 1


def test_deduper_tokenless_ids_are_still_checked():
    d = Deduper(SimHasher.default(), k=3, expected_n=100)
    d.add("u", "some real words")
    with pytest.raises(ValueError, match="already"):
        d.is_duplicate("u", "")
    with pytest.raises(TypeError):
        d.is_duplicate(1.5, "")


def test_deduper_custom_fingerprinter_none_means_tokenless():
    class Words:
        def fingerprint(self, doc):
            return None if not doc.strip() else 0b1011

    d = Deduper(Words(), k=3, expected_n=100)
    assert d.is_duplicate("a", " ") is False and d.is_duplicate("b", "") is False
    assert d.is_duplicate("c", "text") is False and d.is_duplicate("e", "more") is True
    assert d.fingerprint("") == 0 and len(d) == 1


def test_index_add_many_and_query_many_skip_tokenless():
    hasher = SimHasher.default()
    docs = ["", "!!!", "crude oil prices rose on monday", "😀"]
    fps, n = hasher.transform(docs, return_n_tokens=True)
    ix = SimHashIndex(3, expected_n=100)
    ix.add_many(fps, np.arange(4), n_tokens=n)
    assert len(ix) == 1 and 0 not in ix and 2 in ix
    off, ids, dist = ix.query_many(fps, n_tokens=n)
    assert off.tolist() == [0, 0, 0, 1, 1] and ids.tolist() == [2] and dist.tolist() == [0]
    # without the counts the index sees fingerprints only: 0 is a fingerprint
    ix.add(0, 10)
    assert ix.query_many(fps)[0].tolist() == [0, 1, 2, 3, 4]
    assert ix.query_many(fps, n_tokens=n)[0].tolist() == [0, 0, 0, 1, 1]


@pytest.mark.parametrize("n_tokens, exc", [
    (np.array([1.0, 2.0, 3.0]), TypeError),
    (np.array([True, True, False]), TypeError),
    ([1, 2], ValueError),
    (np.ones((3, 1), np.int64), ValueError),
])
def test_index_bad_n_tokens(n_tokens, exc):
    ix = SimHashIndex(3, expected_n=100)
    with pytest.raises(exc, match="n_tokens"):
        ix.add_many([1, 2, 3], [1, 2, 3], n_tokens=n_tokens)
    with pytest.raises(exc, match="n_tokens"):
        ix.query_many([1, 2, 3], n_tokens=n_tokens)
    assert len(ix) == 0


def test_fingerprint_return_n_tokens():
    h = SimHasher.default()
    assert h.fingerprint("!!!", return_n_tokens=True) == (0, 0)
    fp, n = h.fingerprint("crude oil prices", return_n_tokens=True)
    assert n == 3 and fp == h.fingerprint("crude oil prices")


def test_deduper_ids_numpy_integers_and_bools():
    d = Deduper(SimHasher.default(), k=3, expected_n=100)
    assert d.add(np.uint64(2**64 - 1), "some real words") is True
    assert (2**64 - 1) in d and d.duplicates("some real words") == [(2**64 - 1, 0)]
    for bad in (True, np.bool_(False)):
        with pytest.raises(TypeError):
            d.add(bad, "other words")


# --------------------------------------------------------------------------- 9

@pytest.mark.parametrize("docs", ["hello hello", b"hello hello", bytearray(b"hello hello")],
                         ids=["str", "bytes", "bytearray"])
def test_dedup_of_one_document_is_a_type_error(docs):
    with pytest.raises(TypeError, match="single document"):
        dedup(docs)


@pytest.mark.parametrize("method", ["transform", "fit"])
def test_transform_and_fit_of_one_memoryview_is_a_single_document_type_error(method):
    # A lone memoryview was iterated as ints: "a document must be str or bytes, got int"
    hasher = SimHasher.default() if method == "transform" else SimHasher()
    with pytest.raises(TypeError, match="single document"):
        getattr(hasher, method)(memoryview(b"hello hello"))


def test_dedup_of_a_non_iterable_is_a_type_error():
    with pytest.raises(TypeError):
        dedup(42)  # type: ignore[arg-type]


# -------------------------------------------------------------------------- 16
# SimHasher flags are bools, on every path that reaches the core.

BOOL_PARAMS = ["lowercase", "fold_traditional", "use_idf", "smooth_idf", "sublinear_tf", "binary"]


@pytest.mark.parametrize("name", BOOL_PARAMS)
@pytest.mark.parametrize("value", ["false", "no", 0, None])
def test_hasher_bool_parameters_refuse_non_bools(name, value):
    hasher = SimHasher(use_idf=False).set_params(**{name: value})
    with pytest.raises(ValueError, match=name):
        hasher.transform(["text"])
    with pytest.raises(ValueError, match=name):
        shingle_sets(hasher, ["Some Text here"])  # never reached the check before


def test_hasher_numpy_bools_are_bools():
    a = SimHasher(use_idf=False, lowercase=np.bool_(False)).fingerprint("Word")
    assert a == SimHasher(use_idf=False, lowercase=False).fingerprint("Word")


# Fingerprint lists: any Python ints in [0, 2**64), never bools.

def test_as_fingerprints_mixes_large_and_small_ints():
    a = as_fingerprints([2**63, 1, 2**64 - 1, 0])  # was "integer dtype, got float64"
    assert a.dtype == np.uint64 and a.tolist() == [2**63, 1, 2**64 - 1, 0]
    assert as_fingerprints([[2**63, 1], [np.uint64(5), 2]]).tolist() == [[2**63, 1], [5, 2]]


def test_index_and_join_take_mixed_large_and_small_ints():
    ix = SimHashIndex(0, expected_n=100)
    ix.add_many([2**63, 1], [2**64 - 1, 2])
    assert ix.query_many([2**63, 1])[1].tolist() == [2**64 - 1, 2]
    pairs = find_duplicates([2**63, 2**63 + 1, 5], k=1)
    assert (pairs.i.tolist(), pairs.j.tolist()) == ([0], [1])
    assert hamming([2**64 - 1, 0], [0, 0]).tolist() == [64, 0]


@pytest.mark.parametrize("values", [[True, 1], [1, False], [np.True_], np.array([1, True], dtype=object)],
                         ids=["true-first", "false-last", "numpy-bool", "object-array"])
def test_bools_are_not_fingerprints(values):
    with pytest.raises(TypeError, match="integers"):
        as_fingerprints(values)
    with pytest.raises(TypeError):
        hamming(values, 0)
    with pytest.raises(TypeError):
        SimHashIndex(3, expected_n=10).add_many(values, list(range(len(values))))


@pytest.mark.parametrize("bad, exc", [
    ([1, 2.0], TypeError),
    ([1, "2"], TypeError),
    ([[1], [1, 2]], TypeError),
    ([-1, 2**63], ValueError),
    ([2**64, 1], ValueError),
    (np.bool_(True), TypeError),
])
def test_as_fingerprints_refuses(bad, exc):
    with pytest.raises(exc):
        as_fingerprints(bad)


def test_scalar_distance_refuses_numpy_bool():
    with pytest.raises(TypeError):
        hamming(np.bool_(True), 0)
    assert similarity(np.uint64(3), 1) == 1 - 1 / 64


# k and n_threads: Python and numpy integers everywhere, bools and floats nowhere.

@pytest.mark.parametrize("k", [np.int64(3), np.uint8(3), np.int32(3)], ids=lambda k: type(k).__name__)
def test_numpy_integer_k_accepted_everywhere(k):
    ix = SimHashIndex(k, expected_n=np.int64(100))
    assert ix.k == 3 and type(ix.plan.k) is int
    assert len(find_duplicates(np.array([0, 7], np.uint64), k)) == 3
    assert simdup.plan_index(k, np.int64(1000)).k == 3
    assert Deduper(SimHasher.default(), k=k, expected_n=100).index.k == 3
    assert dedup(["a b c", "a b c"], k=k, verify=None).keep.tolist() == [True, False]


@pytest.mark.parametrize("k", [True, np.bool_(True), 3.0, "3"], ids=repr)
def test_non_integer_k_refused_everywhere(k):
    for call in (lambda: SimHashIndex(k), lambda: find_duplicates([1, 2], k),
                 lambda: simdup.plan_index(k), lambda: dedup(["a"], k=k)):
        with pytest.raises(TypeError, match="k must be an int"):
            call()


def test_n_threads_numpy_integer_accepted_bool_refused():
    rng = np.random.default_rng(0)
    fps = rng.integers(0, 2**64, 5000, dtype=np.uint64)
    ix = SimHashIndex(3, expected_n=5000)
    ix.add_many(fps, np.arange(5000))
    one = ix.query_many(fps)
    for a, b in zip(one, ix.query_many(fps, n_threads=np.int64(2))):  # was a ValueError
        np.testing.assert_array_equal(a, b)
    for bad in (True, np.bool_(True), 1.5):
        with pytest.raises(TypeError, match="n_threads"):
            ix.query_many(fps, n_threads=bad)
    with pytest.raises(ValueError, match="n_threads"):
        ix.query_many(fps, n_threads=np.int64(0))


@pytest.mark.parametrize("expected_n, exc", [(True, TypeError), (-1, ValueError), (1.5, TypeError)])
def test_expected_n_checked(expected_n, exc):
    with pytest.raises(exc, match="expected_n"):
        SimHashIndex(3, expected_n=expected_n)


@pytest.mark.parametrize("returned, exc", [(True, TypeError), (1.0, TypeError), ("1", TypeError),
                                           (-1, ValueError), (2**64, ValueError)], ids=repr)
def test_deduper_checks_what_the_hasher_returns(returned, exc):
    class Bad:
        def fingerprint(self, doc):
            return returned

    with pytest.raises(exc):
        Deduper(Bad(), expected_n=10).is_duplicate(1, "doc")


# Private kernels validate their input at the Python boundary (a bad CSR used
# to read out of bounds: a segfault). Run in a child so a crash fails one test.

@pytest.mark.parametrize("indptr, terms", [
    ([0, 10**12], [1]),
    ([0, 3, 2], [1, 2, 3, 4]),
    ([5, 6], [1] * 6),
    ([], [1]),
], ids=["end-past-terms", "decreasing", "not-from-zero", "empty"])
def test_jaccard_kernel_refuses_inconsistent_csr(indptr, terms):
    code = (
        "import numpy as np\nfrom simdup import _core\n"
        f"ip = np.array({indptr!r}, dtype=np.int64); t = np.array({terms!r}, dtype=np.uint64)\n"
        "try:\n    _core.jaccard_pairs(ip, t, np.array([0]), np.array([0]))\n"
        "except ValueError as e:\n    print('ValueError', e)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       check=False)
    assert r.returncode == 0 and r.stdout.startswith("ValueError"), (r.returncode, r.stdout, r.stderr)


# ------------------------------------------------------------- 13, 14: index files

def _write_index(path, k, tables, meta=None):
    """An empty index file with a hand-made header (as a hostile writer would make it)."""
    parts = {"fps": np.empty(0, np.uint64), "ids": np.empty(0, np.uint64),
             "id_order": np.empty(0, np.uint32)}
    for t in range(len(tables)):
        parts[f"dir{t}"] = np.zeros(2, np.uint32)
        if t:
            parts[f"res{t}"] = np.empty(0, np.uint32)
            parts[f"rows{t}"] = np.empty(0, np.uint32)
    _index_file.write(path, parts, {"k": k, "tables": tables, "design_name": "crafted",
                                    "dir_bits": [0] * len(tables), "count": 0,
                                    "fingerprint_spec_version": simdup.SPEC_VERSION, **(meta or {})})


def _rewrite_header(path, edit):
    """Apply ``edit`` to the raw header bytes of an index file and fix its checksum."""
    raw = path.read_bytes()
    hlen = int.from_bytes(raw[12:16], "little")
    header = edit(raw[24:24 + hlen])
    old_start = _index_file._align(24 + hlen)
    new_start = _index_file._align(24 + len(header))
    prelude = _index_file._PRELUDE.pack(_index_file.MAGIC, _index_file.FORMAT_VERSION,
                                        len(header), simdup._core.xxh64(header))
    path.write_bytes(prelude + header + b"\0" * (new_start - 24 - len(header)) + raw[old_start:])


def _hard_design():
    """256 random 3-bit keys over 30 bits: no cheap bound settles exactness at k=16."""
    rng = np.random.default_rng(0)
    return [[[int(b), 1] for b in rng.choice(30, 3, replace=False)] for _ in range(253)]


@pytest.mark.parametrize("mmap", [False, True])
def test_crafted_design_is_refused_quickly(tmp_path, mmap):
    path = tmp_path / "crafted.idx"
    _write_index(path, 16, _hard_design())
    start = time.perf_counter()
    with pytest.raises(ValueError, match="corrupted index header: cannot verify"):
        SimHashIndex.load(path, mmap=mmap)
    assert time.perf_counter() - start < 10  # minutes before the node budget


def test_crafted_design_with_an_easy_proof_loads_quickly(tmp_path):
    rng = np.random.default_rng(1)
    tables = [[[int(b), 1] for b in rng.choice(64, 3, replace=False)] for _ in range(256)]
    path = tmp_path / "triples.idx"
    _write_index(path, 16, tables)
    start = time.perf_counter()
    try:
        ix = SimHashIndex.load(path)
        assert ix.query(0) == []
    except ValueError:
        pass
    assert time.perf_counter() - start < 10


def test_planner_designs_load_without_a_search(tmp_path, monkeypatch):
    import simdup.index.plan as plan_mod

    def no_search(*args, **kwargs):
        raise AssertionError("covers() ran on a planner design")

    monkeypatch.setattr(plan_mod, "covers", no_search)
    for plan in candidate_plans(5, 1000)[:4] + candidate_plans(16, 1000)[:2]:
        path = tmp_path / f"{len(plan.tables)}.idx"
        ix = SimHashIndex(plan.k, expected_n=10, design=plan)
        ix.add(5, 1)
        ix.save(path)
        assert SimHashIndex.load(path).query(5) == [(1, 0)]


@pytest.mark.parametrize("mmap", [False, True])
@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deeply_nested_index_header_is_a_value_error(tmp_path, mmap, depth):
    path = tmp_path / "nested.idx"
    SimHashIndex(3, expected_n=10).save(path)
    _rewrite_header(path, lambda h: b'{"k":' + b"[" * depth + b"]" * depth + b"}")
    with pytest.raises(ValueError, match="corrupted"):
        SimHashIndex.load(path, mmap=mmap)


@pytest.mark.parametrize("edit", [
    lambda h: h.replace(b'"name":"fps"', b'"name":["fps"]'),
    lambda h: h.replace(b'"name":"ids"', b'"name":{"a":1}'),
    lambda h: h.replace(b'"tables":[', b'"tables":[[[1e3,1]],'),
    lambda h: h.replace(b'"k":3', b'"k":3.0'),
    lambda h: h.replace(b'"k":3', b'"k":true'),
    lambda h: h.replace(b'"count":0', b'"count":-1'),
    lambda h: h.replace(b'"dir_bits":[', b'"dir_bits":[99999999999999999999,'),
], ids=["list-name", "object-name", "float-range", "float-k", "bool-k", "negative-count", "huge-dir-bits"])
def test_crafted_index_headers_are_value_errors(tmp_path, edit):
    path = tmp_path / "h.idx"
    SimHashIndex(3, expected_n=10).save(path)
    _rewrite_header(path, edit)
    assert path.read_bytes() != b""
    with pytest.raises(ValueError):
        SimHashIndex.load(path)


# --------------------------------------------------------------- model files

def _save_model(path, **changes):
    hasher = SimHasher().fit(["a b c", "b c d", "c d e"])
    hasher.save(path)
    with np.load(path) as z:
        arrays = {key: z[key] for key in z.files}
    arrays.update(changes)
    np.savez(path, **arrays)


@pytest.mark.parametrize("changes", [
    {"params": np.array("[" * 100_000 + "]" * 100_000)},
    {"params": np.array('{"ngram_range": ' + "[" * 5000 + "]" * 5000 + "}")},
    {"params": np.array("[1, 2]")},
    {"params": np.array('{"tokenizer": "auto", "ngram_range": 5}')},
    {"spec_version": np.array([[2, 2]])},
    {"unseen_idf_q": np.array([1, 2], np.uint32)},
    {"n_docs": np.array("many")},
    {"vocabulary": np.zeros((2, 2), np.uint64), "idf_q": np.ones((2, 2), np.uint32)},
    {"format": np.array(["simdup-model", "x"])},
], ids=["nested-params", "nested-ngram", "params-list", "ngram-int", "spec-2d", "unseen-array",
        "n-docs-str", "vocab-2d", "format-array"])
def test_crafted_models_are_value_errors(tmp_path, changes):
    path = tmp_path / "m.npz"
    _save_model(path, **changes)
    with pytest.raises(ValueError):
        SimHasher.load(path)


def test_model_path_is_a_directory(tmp_path):
    with pytest.raises((ValueError, IsADirectoryError)):
        SimHasher.load(tmp_path)


def test_model_json_params_of_wrong_shape_named(tmp_path):
    path = tmp_path / "m.npz"
    _save_model(path, params=np.array(json.dumps(["not", "an", "object"])))
    with pytest.raises(ValueError, match="m.npz"):
        SimHasher.load(path)


def test_deduper_remove_of_an_unknown_id_names_that_id():
    # The KeyError carried the id's XXH64 (an unrelated-looking integer), not the URL
    d = Deduper(SimHasher.default())
    with pytest.raises(KeyError) as info:
        d.remove("https://example.com/never-added")
    assert info.value.args == ("https://example.com/never-added",)
