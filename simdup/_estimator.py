"""scikit-learn's estimator protocol (parameters, cloning, fitted state, tags), without importing scikit-learn.

:class:`Estimator` gives a class whose ``__init__`` takes only named
parameters and stores each under its own name what
:class:`sklearn.base.BaseEstimator` would give it: ``get_params`` and
``set_params`` with scikit-learn's semantics (nested ``component__param``
names included), so ``sklearn.base.clone``, grid searches and pipelines work,
and ``__sklearn_tags__`` for ``sklearn.utils.validation.check_is_fitted`` and
the other tag readers of scikit-learn 1.6 and later.

Why not inherit ``BaseEstimator``: scikit-learn would become a dependency of
every simdup install, for this protocol alone. It brings SciPy (about 165 MB
installed with scikit-learn itself) and takes about a second to import,
where ``import simdup`` takes 0.16 s, paid by every run of the command line
and every Dask worker. scikit-learn is imported here only when scikit-learn
itself asks (``__sklearn_tags__``), or to match its exception class once the
program has imported it (:func:`not_fitted`).
"""

from __future__ import annotations

import inspect
import sys
from collections import defaultdict
from typing import Any, TypeVar

E = TypeVar("E", bound="Estimator")


class NotFittedError(ValueError, AttributeError):
    """The estimator needs ``fit`` (or a ready-made model) before use.

    A ``ValueError`` and an ``AttributeError``, as scikit-learn's. Raised
    through :func:`not_fitted`: once the program has imported
    ``sklearn.exceptions`` (as code that names
    ``sklearn.exceptions.NotFittedError`` has), the error raised is also an
    instance of that class, so either ``except`` clause catches it.
    """

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        # Rebuilt by not_fitted() where it is unpickled (a Dask client, say), so it
        # matches that process's scikit-learn, imported or not.
        return not_fitted, (str(self),)


def not_fitted(message: str) -> NotFittedError:
    """A :class:`NotFittedError`, also scikit-learn's ``NotFittedError`` when that is imported.

    Only ``sys.modules`` is looked at: importing scikit-learn here, on an
    error path that ``hasattr(hasher, "idf_")`` also takes, would cost a
    second and load SciPy into a program that never asked for it. A program
    that can name scikit-learn's class has imported its module already.
    """
    sklearn_exceptions = sys.modules.get("sklearn.exceptions")
    base = getattr(sklearn_exceptions, "NotFittedError", None)
    if not isinstance(base, type) or not issubclass(base, BaseException):
        return NotFittedError(message)
    if base not in _WITH_SKLEARN_BASE:
        _WITH_SKLEARN_BASE[base] = type("NotFittedError", (NotFittedError, base), {
            "__module__": NotFittedError.__module__,
            "__qualname__": NotFittedError.__qualname__,
            "__doc__": NotFittedError.__doc__,
        })
    return _WITH_SKLEARN_BASE[base](message)


_WITH_SKLEARN_BASE: dict[type, type[NotFittedError]] = {}
"""One subclass of both exceptions per scikit-learn class seen (a reload makes a new one)."""


class Estimator:
    """Base class: scikit-learn's parameter protocol, read from the subclass's ``__init__`` signature.

    The subclass's ``__init__`` names every parameter (no ``*args`` or
    ``**kwargs``), stores each unchanged under its own name, and validates
    nothing (validation happens in ``fit`` and ``transform``, so
    ``set_params`` and ``clone`` never fail half-way): scikit-learn's rules
    for estimators.
    """

    @classmethod
    def _get_param_names(cls) -> list[str]:
        """The parameter names of ``__init__``, in signature order (scikit-learn sorts them)."""
        init = cls.__init__
        if init is object.__init__:
            return []
        names = []
        for p in inspect.signature(init).parameters.values():
            if p.name == "self" or p.kind == p.VAR_KEYWORD:
                continue
            if p.kind == p.VAR_POSITIONAL:
                raise RuntimeError(f"{cls.__name__}.__init__ must name its parameters (no *args)")
            names.append(p.name)
        return names

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters of this estimator, as scikit-learn's ``BaseEstimator.get_params``.

        Parameters
        ----------
        deep : bool, default=True
            Also return the parameters of parameters that are estimators
            themselves, as ``name__param``.

        Returns
        -------
        dict
            Parameter names mapped to their values.
        """
        out: dict[str, Any] = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{name}__{key}", v) for key, v in value.get_params().items())
            out[name] = value
        return out

    def set_params(self: E, **params: Any) -> E:
        """Set parameters, as scikit-learn's ``BaseEstimator.set_params``; refit after changing them.

        ``name__param`` sets parameter ``param`` of the estimator held in
        parameter ``name``.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            A name that is not a parameter (nothing is set then).
        """
        if not params:
            return self
        valid = self.get_params(deep=True)
        names = self._get_param_names()
        # Every name is checked before anything is set: a typo leaves the estimator unchanged.
        for key in params:
            if key.partition("__")[0] not in valid:
                raise ValueError(f"invalid parameter {key.partition('__')[0]!r} for {type(self).__name__}; "
                                 f"valid: {names}")
        nested: defaultdict[str, dict[str, Any]] = defaultdict(dict)
        for key, value in params.items():
            name, delim, sub_key = key.partition("__")
            if delim:
                nested[name][sub_key] = value
            else:
                setattr(self, name, value)
                valid[name] = value
        for name, sub_params in nested.items():
            valid[name].set_params(**sub_params)
        return self

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        changed = [f"{k}={v!r}" for k, v in self.get_params(deep=False).items() if not _same(v, defaults.get(k))]
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_tags__(self) -> Any:
        """scikit-learn's tags (``sklearn.utils.Tags``) of a plain estimator; read by scikit-learn >= 1.6 only."""
        from sklearn.utils import Tags, TargetTags  # only scikit-learn calls this

        return Tags(estimator_type=None, target_tags=TargetTags(required=False))


def _same(value: object, default: object) -> bool:
    try:
        return bool(value == default)
    except Exception:  # an object whose == is not a truth value (an array): say it changed
        return False
