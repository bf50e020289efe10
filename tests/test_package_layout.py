"""The package layout: no module hides behind a public function, and the text parameters have one definition."""

from __future__ import annotations

import dataclasses
import importlib
import inspect

import pytest

import simdup
from simdup import SimHasher
from simdup.text.tokenize import TEXT_PARAMETERS, Preparer


def test_no_module_is_named_like_a_public_function() -> None:
    for name in simdup.__all__:
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module(f"simdup.{name}")
    assert importlib.import_module("simdup.batch").join_masks(3, 10).size  # the module behind simdup.dedup


def test_simhasher_takes_the_text_parameters_from_preparer() -> None:
    init = inspect.signature(SimHasher).parameters
    for field in dataclasses.fields(Preparer):
        assert field.name in TEXT_PARAMETERS and init[field.name].default == field.default
    assert SimHasher()._preparer() == Preparer()
    hasher = SimHasher(tokenizer="words", lowercase=False, input="text")
    assert hasher._preparer() == Preparer(tokenizer="words", lowercase=False, input="text")
    # Documented once: the hasher's docstring carries Preparer's text, whatever its indentation.
    assert inspect.cleandoc(Preparer.__doc__ or "").split("Parameters\n----------\n")[1].split("\n\nRaises")[0] in \
        inspect.cleandoc(SimHasher.__doc__ or "")


@pytest.mark.parametrize("name, value", [("tokenizer", "nope"), ("segmenter", "nope"), ("lowercase", "no"),
                                         ("fold_traditional", 1), ("encoding_errors", "nope"), ("input", "xml"),
                                         ("html_content", "most")])
def test_a_bad_text_parameter_gets_the_same_error_from_both(name: str, value: object) -> None:
    with pytest.raises(ValueError, match=name) as direct:
        Preparer(**{name: value})
    with pytest.raises(ValueError, match=name) as through_hasher:
        SimHasher(use_idf=False, **{name: value}).transform(["text"])
    assert str(direct.value) == str(through_hasher.value)
