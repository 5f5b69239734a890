"""A square travel matrix kept as the blocks of pairs that were asked, for days too big to hold.

A day of 10 depots with 1,000 orders each has 10,010 locations: a dense
matrix is 10,010 x 10,010 int64, 0.8 GB per matrix, and a profile needs two
(durations and distances). The depot split (:mod:`doorstep.plan.depots`)
only ever uses the depots' rows and columns and each depot's own block of
orders, so :func:`~doorstep.plan.depots.build_split_problem` keeps those
blocks and nothing else: a :class:`BlockMatrix` answers every pair inside a
block with its value, a location to itself with 0, and every other pair
with :data:`~doorstep.network.provider.UNREACHABLE` (a route using such a
pair is reported unreachable by the evaluator, never silently wrong).

A one-depot day too big for its square (:mod:`doorstep.plan.sparse`) holds
even less: the depot's row and column only, and a :class:`PairSource` that
asks the roads for any other pair when it is read (a part's square when the
decomposition cuts it, a route's legs when the evaluator walks it). Such a
matrix has a value for every pair; its blocks are what is already at hand.

It is read like a numpy array (``m[i, j]``, ``m[a, b]`` with index arrays,
``m[np.ix_(rows, cols)]``, ``m[i]``, ``m[:, j]``, ``m.item(i, j)``) and it
turns into a dense array where a caller needs one (``np.asarray(m)``, which
costs the full size). It cannot be written to.
"""

from __future__ import annotations

import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from doorstep.network.provider import UNREACHABLE

IntArray = npt.NDArray[np.int64]

_Key = Any

Indices = npt.NDArray[np.integer[Any]]


class PairSource(Protocol):
    """Where a :class:`BlockMatrix` gets the pairs its blocks do not hold.

    Indices are the matrix's own (non-negative, within its size); a location to
    itself is never asked.
    """

    def pair(self, row: int, col: int) -> int:
        """The value of one pair."""
        ...

    def pairs(self, rows: Indices, cols: Indices) -> IntArray:
        """The values of pairs ``(rows[k], cols[k])`` (two 1-d arrays of one length)."""
        ...

    def outer(self, rows: Indices, cols: Indices) -> IntArray:
        """The ``len(rows) x len(cols)`` values of every row to every column."""
        ...


@dataclass(frozen=True, slots=True, eq=False)
class BlockLayout:
    """Where a :class:`BlockMatrix`'s blocks sit: shared by the matrices asked the same way.

    Attributes
    ----------
    size
        Locations (the matrix is ``size`` x ``size``).
    rows, cols
        Per block, the location indices of its rows and of its columns
        (each without repeats).
    row_pos, col_pos
        Block x location: the location's row (column) in the block, -1 where the
        block has none; one more all -1 line at the end, for "no block".
    home
        Per location, the block its row is read from first (``len(rows)``: none).
    offsets, widths
        Per block, where its values start in a matrix's buffer, and its number of
        columns (the buffer holds each block row after row, one block after another;
        ``offsets`` has one more entry, the buffer's length).
    row_mask, col_mask
        Location x word: bit ``b % 64`` of word ``b // 64`` is set when block ``b``
        holds the location as a row (a column). A pair's blocks are the bits its
        row's and its column's masks share: no bit, no value.
    """

    size: int
    rows: tuple[IntArray, ...]
    cols: tuple[IntArray, ...]
    row_pos: npt.NDArray[np.int32]
    col_pos: npt.NDArray[np.int32]
    home: IntArray
    offsets: IntArray
    widths: IntArray
    row_mask: npt.NDArray[np.uint64]
    col_mask: npt.NDArray[np.uint64]
    scalar: _Scalar
    """The same, as plain Python values (for :attr:`BlockMatrix.item`)."""

    @classmethod
    def of(
        cls,
        size: int,
        blocks: Sequence[tuple[npt.ArrayLike, npt.ArrayLike]],
        home: npt.ArrayLike | None = None,
    ) -> BlockLayout:
        """The layout of ``blocks``, each (row locations, column locations).

        Parameters
        ----------
        size
            Locations in the whole matrix.
        blocks
            Parts of one matrix: where blocks overlap they hold the same values
            (which of them is read is not specified).
        home
            Per location, the block to read its row from first (the one most of
            its pairs are in), so that reading a route is one gather from one
            block; -1, or a block that does not hold the location's row: none.

        Raises
        ------
        ValueError
            For a location outside ``0 .. size - 1``, a repeated one within a block's
            rows or columns, or a ``home`` of another length than ``size``.
        """
        count = len(blocks)
        rows = tuple(_locations(r, size) for r, _ in blocks)
        cols = tuple(_locations(c, size) for _, c in blocks)
        row_pos = np.full((count + 1, size), -1, dtype=np.int32)
        col_pos = np.full((count + 1, size), -1, dtype=np.int32)
        words = max(1, -(-count // 64))
        row_mask = np.zeros((size, words), dtype=np.uint64)
        col_mask = np.zeros((size, words), dtype=np.uint64)
        for b in range(count):
            row_pos[b, rows[b]] = np.arange(rows[b].size, dtype=np.int32)
            col_pos[b, cols[b]] = np.arange(cols[b].size, dtype=np.int32)
            bit = np.uint64(1 << (b % 64))
            row_mask[rows[b], b // 64] |= bit
            col_mask[cols[b], b // 64] |= bit
        first = np.full(size, -1, dtype=np.int64) if home is None else np.asarray(home, np.int64)
        if first.shape != (size,):
            raise ValueError(f"home must name a block for each of the {size} locations")
        first = np.where((first >= 0) & (first < count), first, count)
        first = np.where(row_pos[first, np.arange(size)] >= 0, first, count)
        widths = np.array([c.size for c in cols] + [0], dtype=np.int64)
        sizes = np.array([r.size for r in rows] + [0], dtype=np.int64) * widths
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        return cls(
            size,
            rows,
            cols,
            row_pos,
            col_pos,
            first,
            offsets,
            widths,
            row_mask,
            col_mask,
            (
                first.tolist(),
                tuple(array.array("i", line.tobytes()) for line in row_pos),
                tuple(array.array("i", line.tobytes()) for line in col_pos),
                _bits(row_mask),
                _bits(col_mask),
            ),
        )

    @property
    def cells(self) -> int:
        """Pairs the blocks hold (overlaps counted twice)."""
        return sum(r.size * c.size for r, c in zip(self.rows, self.cols, strict=True))

    def locate(self, rows: Indices, cols: Indices) -> tuple[Indices, Indices]:
        """Per pair, a block holding it and its column there; (-1, -1) where none does.

        The row's home block when it holds the pair, else the lowest block the
        row's and the column's masks share.
        """
        b = self.home[rows]
        at = self.col_pos[b, cols]
        if at.min() >= 0:
            return b, at
        miss = np.flatnonzero(at < 0)
        b[miss] = -1
        r, c = rows[miss], cols[miss]
        for w in range(self.row_mask.shape[1]):
            common = self.row_mask[r, w] & self.col_mask[c, w]
            found = np.flatnonzero(common)
            if found.size:
                lowest = common[found] & (~common[found] + np.uint64(1))
                block = np.frexp(lowest.astype(np.float64))[1] - 1 + 64 * w
                b[miss[found]] = block
                at[miss[found]] = self.col_pos[block, c[found]]
                keep = common == 0
                miss, r, c = miss[keep], r[keep], c[keep]
        return b, at


_Scalar = tuple[
    list[int],
    tuple["array.array[int]", ...],
    tuple["array.array[int]", ...],
    tuple[int, ...],
    tuple[int, ...],
]
"""A layout as plain Python values (home, row and column positions, row and column
masks), for reading one pair at a time quickly."""


def _bits(mask: npt.NDArray[np.uint64]) -> tuple[int, ...]:
    """Each location's mask words as one Python int."""
    out = [0] * mask.shape[0]
    for w in range(mask.shape[1]):
        for i, word in enumerate(mask[:, w].tolist()):
            out[i] |= int(word) << (64 * w)
    return tuple(out)


def _locations(values: npt.ArrayLike, size: int) -> IntArray:
    out = np.asarray(values, dtype=np.int64).reshape(-1)
    if out.size and (out.min() < 0 or out.max() >= size):
        raise ValueError(f"block locations must be within 0..{size - 1}")
    if np.unique(out).size != out.size:
        raise ValueError("a block's locations must not repeat")
    return out


class BlockMatrix:
    """A read-only square int64 matrix held as blocks; other pairs asked or unreachable.

    Parameters
    ----------
    layout
        Where the blocks sit.
    values
        Per block of ``layout``, its ``len(rows) x len(cols)`` values.
    fill
        The value of a pair in no block when there is no ``source`` (a location
        to itself is 0).
    source
        Asked for the value of a pair in no block (None: such a pair reads
        ``fill``). It stays in the process that made the matrix: a copy
        (pickled to a worker) reads ``fill`` there instead, so a sub-problem
        should be cut (:func:`~doorstep.plan.subproblem.restrict`, which asks
        for its pairs) before it travels.

    Attributes
    ----------
    item
        ``item(i, j)``: the value of pair (``i``, ``j``) as a Python int, like
        ``numpy.ndarray.item``. A plain function, so loops reading many single
        pairs (the evaluator's) pay no method dispatch.
    """

    __slots__ = ("_fill", "_flat", "_values", "item", "layout", "source")

    item: Callable[[int, int], int]

    ndim = 2
    dtype = np.dtype(np.int64)

    def __init__(
        self,
        layout: BlockLayout,
        values: Sequence[npt.ArrayLike],
        fill: int = UNREACHABLE,
        source: PairSource | None = None,
    ) -> None:
        if len(values) != len(layout.rows):
            raise ValueError(f"{len(layout.rows)} blocks, {len(values)} value arrays")
        # One buffer for all blocks: any set of pairs is then one gather, whatever
        # blocks they fall in.
        flat = np.empty(int(layout.offsets[-1]), dtype=np.int64)
        blocks = []
        for b, v in enumerate(values):
            shape = (layout.rows[b].size, layout.cols[b].size)
            arr = np.asarray(v, dtype=np.int64)
            if arr.shape != shape:
                raise ValueError(f"a block of {shape[0]} x {shape[1]} got values {arr.shape}")
            view = flat[layout.offsets[b] : layout.offsets[b + 1]].reshape(shape)
            view[...] = arr
            blocks.append(view)
        flat.setflags(write=False)
        self.layout = layout
        self._flat = flat
        self._values = tuple(blocks)
        self._fill = int(fill)
        self.source = source
        self.item = self._reader()

    @property
    def shape(self) -> tuple[int, int]:
        """(size, size)."""
        return (self.layout.size, self.layout.size)

    @property
    def nbytes(self) -> int:
        """Bytes of the values held (the layout's indices not counted)."""
        return int(self._flat.nbytes)

    def __len__(self) -> int:
        return self.layout.size

    def __repr__(self) -> str:
        return f"BlockMatrix({self.layout.size} x {self.layout.size}, {len(self._values)} blocks)"

    def __reduce__(self) -> tuple[Any, ...]:
        return (BlockMatrix, (self.layout, list(self._values), self._fill))

    def _reader(self) -> Callable[[int, int], int]:
        # Plain lists index like the matrix: negatives from the end, IndexError past it.
        home, row_lists, col_lists, row_bits, col_bits = self.layout.scalar
        values, fill, n, source = self._values, self._fill, self.layout.size, self.source

        def read(i: int, j: int) -> int:
            b = home[i]
            c = col_lists[b][j]
            if c < 0:
                common = row_bits[i] & col_bits[j]
                if not common:
                    if i % n == j % n:
                        return 0
                    return fill if source is None else source.pair(i % n, j % n)
                b = (common & -common).bit_length() - 1
                c = col_lists[b][j]
            out: int = values[b].item(row_lists[b][i], c)
            return out

        return read

    def __getitem__(self, key: _Key) -> Any:
        i, j = key if isinstance(key, tuple) else (key, slice(None))
        if isinstance(i, int | np.integer) and isinstance(j, int | np.integer):
            return np.int64(self.item(int(i), int(j)))
        rows, cols = self._axis(i), self._axis(j)
        if isinstance(i, slice) and isinstance(j, slice):
            rows = rows[:, None]
        elif isinstance(i, slice):
            rows = rows.reshape((-1,) + (1,) * cols.ndim)
        elif isinstance(j, slice):
            rows = rows[..., None]
        if (
            rows.ndim == 2
            and rows.shape[1] == 1
            and (cols.ndim == 1 or cols.shape == (1, cols.size))
        ):
            return self._outer(rows[:, 0], cols.reshape(-1))  # np.ix_ and the like
        if rows.shape != cols.shape:
            rows, cols = np.broadcast_arrays(rows, cols)
        return self._pairs(rows, cols)

    def __array__(self, dtype: Any = None, copy: Any = None) -> IntArray:
        everything = np.arange(self.layout.size)
        out = self._outer(everything, everything)
        return out if dtype is None else out.astype(dtype)

    def _axis(self, index: _Key) -> Indices:
        """Integer indices along one axis (out of range ones raise when used)."""
        if isinstance(index, slice):
            return np.arange(self.layout.size, dtype=np.int64)[index]
        arr = np.asarray(index)
        if arr.dtype.kind not in "iu":
            raise TypeError("a BlockMatrix is indexed by integers, slices or integer arrays")
        return arr

    def _within(self, arr: Indices) -> Indices:
        """``arr`` with negative indices counted from the end; IndexError past either end."""
        n = self.layout.size
        if arr.size and (arr.min() < -n or arr.max() >= n):
            raise IndexError(f"index out of bounds for size {n}")
        return np.where(arr < 0, arr + n, arr)

    def _outer(self, rows: Indices, cols: Indices) -> IntArray:
        """Rows x columns, reading only the part of each block that they meet.

        Blocks agree where they overlap, so each is written over the others.
        """
        rows, cols = self._within(rows), self._within(cols)
        out = np.full((rows.size, cols.size), self._fill, dtype=np.int64)
        held = rows[:, None] == cols[None, :]
        out[held] = 0
        lay = self.layout
        for b, values in enumerate(self._values):
            r, c = lay.row_pos[b][rows], lay.col_pos[b][cols]
            r_hit, c_hit = np.flatnonzero(r >= 0), np.flatnonzero(c >= 0)
            if r_hit.size and c_hit.size:
                out[np.ix_(r_hit, c_hit)] = values[np.ix_(r[r_hit], c[c_hit])]
                held[np.ix_(r_hit, c_hit)] = True
        if self.source is not None and not held.all():
            # One question for the rows and columns that miss something (a part's
            # square, the depot's row and column aside); held pairs agree.
            r_miss = np.flatnonzero(~held.all(axis=1))
            c_miss = np.flatnonzero(~held.all(axis=0))
            asked = self.source.outer(rows[r_miss], cols[c_miss])
            mine = ~held[np.ix_(r_miss, c_miss)]
            out[np.ix_(r_miss, c_miss)] = np.where(mine, asked, out[np.ix_(r_miss, c_miss)])
        return out

    def _pairs(self, rows: Indices, cols: Indices) -> IntArray:
        """Element by element (``rows`` and ``cols`` of one shape).

        Each pair is read from its row's home block when that holds it (a route
        within one depot's orders is one gather), else from any block holding
        both, found by the masks in one pass whatever the number of blocks.
        """
        r_all, c_all = rows.reshape(-1), cols.reshape(-1)
        if not r_all.size:
            return np.zeros(rows.shape, dtype=np.int64)
        b, at = self.layout.locate(r_all, c_all)
        if at.min() >= 0:
            return self._gather(b, r_all, at).reshape(rows.shape)
        r_in, c_in = self._within(r_all), self._within(c_all)
        same = r_in == c_in
        out = np.where(same, 0, self._fill).astype(np.int64)
        held = at >= 0
        if held.any():
            out[held] = self._gather(b[held], r_all[held], at[held])
        if self.source is not None:
            miss = np.flatnonzero(~held & ~same)
            if miss.size:
                out[miss] = self.source.pairs(r_in[miss], c_in[miss])
        return out.reshape(rows.shape)

    def _gather(self, blocks: Indices, rows: Indices, at: Indices) -> IntArray:
        """Values of locations ``rows`` at columns ``at`` of their blocks ``blocks``."""
        lay = self.layout
        place = lay.offsets[blocks] + lay.row_pos[blocks, rows] * lay.widths[blocks] + at
        out: IntArray = self._flat[place]
        return out
