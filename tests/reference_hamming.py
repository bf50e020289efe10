"""Brute-force oracle for the Hamming index: a dict and a loop, obviously correct."""

from __future__ import annotations


def distance(a: int, b: int) -> int:
    return bin(a ^ b).count("1")


class BruteForceIndex:
    """Same contract as SimHashIndex's online API, by checking every stored item."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.items: dict[int, int] = {}  # id -> fingerprint

    def add(self, fp: int, id: int) -> None:
        assert id not in self.items
        self.items[id] = fp

    def remove(self, id: int) -> None:
        del self.items[id]

    def query(self, fp: int) -> list[tuple[int, int]]:
        hits = [(i, distance(fp, f)) for i, f in self.items.items()]
        return sorted(((i, d) for i, d in hits if d <= self.k), key=lambda h: (h[1], h[0]))

    def __len__(self) -> int:
        return len(self.items)
