"""SimHasher under scikit-learn's estimator protocol: check_is_fitted, clone, get_params/set_params, tags.

simdup implements the protocol without importing scikit-learn
(:mod:`simdup._estimator`); these tests hold it to scikit-learn's own tools.
"""

from __future__ import annotations

import pickle
import subprocess
import sys

import pytest

import simdup
from simdup import SimHasher

try:
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError as SklearnNotFittedError
    from sklearn.utils.validation import check_is_fitted
except ImportError:  # the test extra installs it; the protocol itself needs no scikit-learn
    sklearn_missing = True
else:
    sklearn_missing = False
needs_sklearn = pytest.mark.skipif(sklearn_missing, reason="checked with scikit-learn's tools")

DOCS = ["the quick brown fox", "jumps over the lazy dog", "the dog sleeps"]


@needs_sklearn
def test_check_is_fitted_passes_exactly_when_the_hasher_can_fingerprint() -> None:
    with pytest.raises(SklearnNotFittedError):
        check_is_fitted(SimHasher())
    check_is_fitted(SimHasher().fit(DOCS))
    check_is_fitted(SimHasher.default())
    check_is_fitted(SimHasher(use_idf=False))  # needs no fitting


@needs_sklearn
def test_not_fitted_error_is_caught_as_scikit_learns_and_as_simdups() -> None:
    for use in (lambda h: h.transform(DOCS), lambda h: h.fingerprint("text"), lambda h: h.idf_):
        with pytest.raises(SklearnNotFittedError, match="not fitted") as caught:
            use(SimHasher())
        assert isinstance(caught.value, simdup.NotFittedError)
        assert isinstance(caught.value, ValueError) and isinstance(caught.value, AttributeError)
    assert not hasattr(SimHasher(), "vocabulary_")  # an AttributeError, as for any unfitted attribute


@needs_sklearn
def test_not_fitted_error_survives_pickling() -> None:
    # Dask sends a worker's exception back pickled.
    with pytest.raises(simdup.NotFittedError) as caught:
        SimHasher().transform(DOCS)
    back = pickle.loads(pickle.dumps(caught.value))
    assert isinstance(back, simdup.NotFittedError) and isinstance(back, SklearnNotFittedError)
    assert str(back) == str(caught.value)


@needs_sklearn
def test_clone_copies_parameters_not_the_fit() -> None:
    fitted = SimHasher(ngram_range=(1, 2), min_df=2, input="text").fit(DOCS * 2)
    copy = clone(fitted)
    assert type(copy) is SimHasher and copy is not fitted
    assert copy.get_params() == fitted.get_params()
    with pytest.raises(SklearnNotFittedError):
        check_is_fitted(copy)
    assert (copy.fit(DOCS * 2).transform(DOCS) == fitted.transform(DOCS)).all()


@needs_sklearn
def test_clone_keeps_a_callable_tokenizer() -> None:
    hasher = SimHasher(tokenizer=str.split, use_idf=False)
    assert clone(hasher).tokenizer is str.split


@needs_sklearn
def test_get_params_and_set_params_follow_scikit_learn() -> None:
    hasher = SimHasher()
    assert set(hasher.get_params()) == set(SimHasher._get_param_names())
    assert hasher.set_params() is hasher
    assert hasher.set_params(binary=True, min_df=2) is hasher and hasher.binary and hasher.min_df == 2
    with pytest.raises(ValueError, match="invalid parameter 'nope'"):
        hasher.set_params(min_df=5, nope=1)
    assert hasher.min_df == 2  # nothing set when one name is wrong


class _Tokenizer:
    """A tokenizer with parameters of its own, as a scikit-learn component has."""

    def __init__(self, lower: bool = False) -> None:
        self.lower = lower

    def get_params(self, deep: bool = True) -> dict[str, object]:
        return {"lower": self.lower}

    def set_params(self, **params: object) -> _Tokenizer:
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __call__(self, text: str) -> list[str]:
        return (text.lower() if self.lower else text).split()


@needs_sklearn
def test_nested_parameters_use_double_underscores() -> None:
    hasher = SimHasher(tokenizer=_Tokenizer(), use_idf=False, lowercase=False)
    assert hasher.get_params(deep=True)["tokenizer__lower"] is False
    assert "tokenizer__lower" not in hasher.get_params(deep=False)
    assert hasher.fingerprint("Word") != hasher.fingerprint("word")
    hasher.set_params(tokenizer__lower=True)
    assert hasher.tokenizer.lower is True
    assert hasher.fingerprint("Word") == hasher.fingerprint("word")


@needs_sklearn
def test_tags_describe_a_transformer_of_strings() -> None:
    utils = pytest.importorskip("sklearn.utils")
    if not hasattr(utils, "get_tags"):
        pytest.skip("estimator tags are scikit-learn >= 1.6")
    tags = utils.get_tags(SimHasher())
    assert tags.transformer_tags is not None
    assert tags.input_tags.string and not tags.input_tags.two_d_array


def test_simdup_does_not_import_scikit_learn() -> None:
    # Without scikit-learn imported, the error is simdup's own (and importing simdup imports no scikit-learn).
    code = ("import sys, simdup\n"
            "assert 'sklearn' not in sys.modules\n"
            "try:\n"
            "    simdup.SimHasher().transform(['x'])\n"
            "except simdup.NotFittedError as e:\n"
            "    assert type(e) is simdup.NotFittedError\n"
            "assert 'sklearn' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True)
