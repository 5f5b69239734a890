"""Compile the road-network code ahead of the first plan (``doorstep network warm``).

The hierarchy's inner loops (:mod:`.cch`) are compiled by numba on their first
call, about 15 s on two cores, and the compiled code is cached on disk
(:func:`doorstep.network.cache.jit`). :func:`warm` runs every one of them once
on a tiny grid, with the same argument types the real code passes, so that a
fresh install pays the compile time at install (``make install`` runs it) and
the first plan only loads the cached code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from doorstep.network import cch
from doorstep.network.cache import jit_cache_folder
from doorstep.network.provider import UNREACHABLE

_SIDE = 5
"""The grid is ``_SIDE x _SIDE`` nodes: large enough for shortcuts, small enough to be instant."""


@dataclass(frozen=True, slots=True)
class Warmed:
    """What :func:`warm` did."""

    functions: tuple[str, ...]
    """Names of the numba-compiled functions run (directly or by another), now in the cache."""
    folder: str | None
    """Where numba keeps them (None: numba's own choice, no cache folder could be written)."""


def _grid() -> tuple[np.ndarray[Any, np.dtype[np.int32]], np.ndarray[Any, np.dtype[np.int32]]]:
    """Both directions of every street of a ``_SIDE x _SIDE`` grid, as int32 tails and heads."""
    tails: list[int] = []
    heads: list[int] = []
    for row in range(_SIDE):
        for col in range(_SIDE):
            v = row * _SIDE + col
            for w in ((v + 1) if col + 1 < _SIDE else -1, (v + _SIDE) if row + 1 < _SIDE else -1):
                if w >= 0:
                    tails += [v, w]
                    heads += [w, v]
    return np.array(tails, dtype=np.int32), np.array(heads, dtype=np.int32)


def jitted_functions() -> dict[str, Any]:
    """The numba-compiled functions of :mod:`.cch`, by name."""
    return {
        name: value
        for name, value in vars(cch).items()
        if hasattr(value, "py_func") and hasattr(value, "signatures")
    }


def warm() -> Warmed:
    """Run every numba-compiled function once on a tiny grid (compiling it, or loading it).

    Goes through the public entry points the providers use (building a
    topology, customizing, a many-to-many matrix, decoding, unpacking
    paths), so every function is compiled for the argument types of real use.

    Returns
    -------
    Warmed
        The functions now compiled and the folder their code is cached in.
    """
    tail, head = _grid()
    n = _SIDE * _SIDE
    order = np.arange(n, dtype=np.int32)[::-1].copy()  # corners last: shortcuts appear
    topology = cch.build_topology(order, tail, head)
    length_dm = np.full(tail.shape[0], 1_000, dtype=np.int64)
    metric = cch.customize(topology, cch.pack(length_dm * 72, length_dm))
    stops = np.arange(0, n, 3, dtype=np.int32)
    nodes = np.column_stack((stops, np.full_like(stops, -1)))
    offsets = np.zeros(nodes.shape, dtype=np.int64)
    packed = cch.many_to_many(metric, nodes, offsets, nodes, offsets)
    cch.decode(packed, UNREACHABLE)
    for source in range(n):
        cch.shortest_path(metric, source, n - 1 - source)
    folder = jit_cache_folder(cch._decode)
    return Warmed(tuple(sorted(jitted_functions())), None if folder is None else str(folder))
