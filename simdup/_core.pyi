"""Type stubs for the compiled core (simdup/_core.pyx)."""

import numpy as np
import numpy.typing as npt

# --- fingerprint kernels -------------------------------------------------------

def xxh64(data: bytes | bytearray | memoryview, seed: int = 0) -> int: ...
def is_word_char(ch: str) -> bool: ...

class TermWeights:
    default_weight: int
    size: int
    def __init__(
        self, terms: npt.NDArray[np.uint64], weights: npt.NDArray[np.uint32], default_weight: int
    ) -> None: ...
    def __len__(self) -> int: ...
    def get(self, term: int) -> int: ...

def fingerprint_batch(
    docs: list[bytes],
    weights: TermWeights,
    ngram_lo: int,
    ngram_hi: int,
    tf_mode: int,
    delimited: bool,
    out: npt.NDArray[np.uint64],
    n_tokens: npt.NDArray[np.int64],
) -> None: ...
def doc_terms(
    docs: list[bytes], ngram_lo: int, ngram_hi: int, delimited: bool
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64]]: ...
def token_hashes(
    doc: bytes, ngram_lo: int = 1, ngram_hi: int = 1, delimited: bool = False
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint32]]: ...
def hash_strings(items: list[bytes]) -> npt.NDArray[np.uint64]: ...
def simhash_weighted(hashes: npt.NDArray[np.uint64], weights: npt.NDArray[np.int64]) -> int: ...
def han_count(text: str) -> tuple[int, int]: ...
def join_segments(segments: list[str]) -> bytes: ...

# --- batch dedup kernels ---

def self_join(
    fps: npt.NDArray[np.uint64], masks: npt.NDArray[np.uint64], k: int, start: int = 0
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.uint8]]: ...
def connected_components(
    n: int, i: npt.NDArray[np.int64], j: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]: ...
def jaccard_pairs(
    indptr: npt.NDArray[np.int64],
    terms: npt.NDArray[np.uint64],
    i: npt.NDArray[np.int64],
    j: npt.NDArray[np.int64],
) -> npt.NDArray[np.float64]: ...
