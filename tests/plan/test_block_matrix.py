"""BlockMatrix: read like the dense matrix it stands for, in every way the planner reads one."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doorstep.network.provider import UNREACHABLE
from doorstep.plan.block_matrix import BlockLayout, BlockMatrix


def dense_of(size: int, whole: np.ndarray, blocks: list[tuple[list[int], list[int]]]) -> np.ndarray:
    """What a BlockMatrix of ``whole``'s ``blocks`` stands for.

    Their pairs, 0 on the diagonal elsewhere, unreachable everywhere else.
    """
    out = np.full((size, size), UNREACHABLE, dtype=np.int64)
    np.fill_diagonal(out, 0)
    for rows, cols in blocks:
        out[np.ix_(rows, cols)] = whole[np.ix_(rows, cols)]
    return out


@st.composite
def block_days(draw: st.DrawFn) -> tuple[BlockMatrix, np.ndarray]:
    """Up to four overlapping blocks of one random matrix, with random home blocks."""
    size = draw(st.integers(1, 12))
    whole = np.random.default_rng(draw(st.integers(0, 2**16))).integers(0, 5_000, (size, size))
    locations = st.lists(st.integers(0, size - 1), unique=True, max_size=size)
    blocks = [(draw(locations), draw(locations)) for _ in range(draw(st.integers(0, 4)))]
    home = draw(st.none() | st.lists(st.integers(-1, 4), min_size=size, max_size=size))
    layout = BlockLayout.of(size, blocks, home=home)
    values = [whole[np.ix_(r, c)] for r, c in blocks]
    return BlockMatrix(layout, values), dense_of(size, whole, blocks)


@settings(max_examples=150, deadline=None)
@given(day=block_days(), data=st.data())
def test_every_way_of_reading_agrees_with_the_dense_matrix(
    day: tuple[BlockMatrix, np.ndarray], data: st.DataObject
) -> None:
    """Scalars, item, index arrays, np.ix_, rows, columns, slices and np.asarray all agree."""
    m, dense = day
    n = dense.shape[0]
    index = st.integers(-n, n - 1)
    arrays = st.lists(index, min_size=0, max_size=8).map(lambda x: np.array(x, dtype=np.int64))
    i, j = data.draw(index), data.draw(index)
    a = data.draw(arrays)
    b = data.draw(st.lists(index, min_size=len(a), max_size=len(a)).map(np.array))
    assert m.shape == dense.shape and len(m) == n
    assert int(m[i, j]) == int(dense[i, j]) == m.item(i, j)
    keys = [
        (a, b.astype(np.int64)),
        np.ix_(a, b.astype(np.int64)),
        (i, a),
        (a, j),
        i,
        (slice(None), j),
        (a, slice(None)),
        (slice(None), a),
        (slice(1, None, 2), slice(None, -1)),
        a,
    ]
    for key in keys:
        got, want = m[key], dense[key]
        assert got.shape == want.shape, key
        assert np.array_equal(got, want), key
    assert np.array_equal(np.asarray(m), dense)


def test_it_refuses_writes_masks_and_out_of_range_indices() -> None:
    """No setting, no boolean masks, and an index past the end raises like numpy."""
    layout = BlockLayout.of(3, [([0, 1], [1, 2])])
    m = BlockMatrix(layout, [[[5, 6], [7, 8]]])
    with pytest.raises(TypeError):
        m[0, 1] = 3  # type: ignore[index]
    with pytest.raises(TypeError):
        m[np.array([True, False, True])]
    with pytest.raises(IndexError):
        m[3, 0]
    with pytest.raises(IndexError):
        m[np.array([0, 4]), np.array([0, 0])]
    with pytest.raises(ValueError):
        BlockMatrix(layout, [[[5, 6]]])
    with pytest.raises(ValueError):
        BlockLayout.of(3, [([0, 0], [1])])


def test_it_holds_only_its_blocks_and_survives_pickling() -> None:
    """Two 100 x 100 blocks of a 10,000-location day hold 20,000 values, and pickle whole."""
    rows = [np.arange(100), np.arange(5_000, 5_100)]
    layout = BlockLayout.of(10_000, [(r, r) for r in rows])
    m = BlockMatrix(layout, [np.full((100, 100), 7), np.full((100, 100), 9)])
    assert m.nbytes == 2 * 100 * 100 * 8 and layout.cells == 20_000
    back = pickle.loads(pickle.dumps(m))
    assert back[5_001, 5_050] == 9 and back[3, 5_050] == UNREACHABLE and back[7_000, 7_000] == 0


def test_more_than_64_blocks_are_found_in_their_second_mask_word() -> None:
    """Blocks 64 and up live in a second word of the masks and still answer their pairs."""
    size, count = 80, 70
    whole = np.arange(size * size, dtype=np.int64).reshape(size, size)
    blocks = [([b], [b + 1, b + 2]) for b in range(count)]
    m = BlockMatrix(BlockLayout.of(size, blocks), [whole[np.ix_(r, c)] for r, c in blocks])
    dense = dense_of(size, whole, blocks)
    rows = np.arange(count)
    for cols in (rows + 1, rows + 2, rows + 3):
        assert np.array_equal(m[rows, cols], dense[rows, cols])
        assert [m.item(int(i), int(j)) for i, j in zip(rows, cols, strict=True)] == list(
            dense[rows, cols]
        )


class WholeSource:
    """A pair source over a whole matrix, counting the pairs it is asked."""

    def __init__(self, whole: np.ndarray) -> None:
        self.whole = whole
        self.asked = 0

    def pair(self, row: int, col: int) -> int:
        self.asked += 1
        return int(self.whole[row, col])

    def pairs(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        assert (rows >= 0).all() and (cols >= 0).all() and (rows != cols).all()
        self.asked += rows.size
        return self.whole[rows, cols]

    def outer(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        assert (rows >= 0).all() and (cols >= 0).all()
        self.asked += rows.size * cols.size
        return self.whole[np.ix_(rows, cols)]


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_with_a_source_every_pair_reads_as_the_whole_matrix(data: st.DataObject) -> None:
    """Pairs no block holds come from the source: every way of reading gives the whole matrix.

    The diagonal is 0 and is never asked; a pair a block holds is never asked.
    """
    size = data.draw(st.integers(1, 10))
    whole = np.random.default_rng(data.draw(st.integers(0, 2**16))).integers(1, 5_000, (size,) * 2)
    np.fill_diagonal(whole, 0)  # a travel matrix: each location to itself is 0
    locations = st.lists(st.integers(0, size - 1), unique=True, max_size=size)
    blocks = [
        (data.draw(locations), data.draw(locations)) for _ in range(data.draw(st.integers(0, 3)))
    ]
    source = WholeSource(whole)
    m = BlockMatrix(
        BlockLayout.of(size, blocks), [whole[np.ix_(r, c)] for r, c in blocks], source=source
    )
    want = whole
    index = st.integers(-size, size - 1)
    i, j = data.draw(index), data.draw(index)
    a = np.array(data.draw(st.lists(index, max_size=8)), dtype=np.int64)
    b = np.array(data.draw(st.lists(index, min_size=a.size, max_size=a.size)), dtype=np.int64)
    assert int(m[i, j]) == int(want[i, j]) == m.item(i, j)
    for key in [(a, b), np.ix_(a, b), i, (slice(None), j), (a, slice(None))]:
        assert np.array_equal(m[key], want[key]), key
    assert np.array_equal(np.asarray(m), want)
    held = BlockMatrix(BlockLayout.of(size, [(range(size), range(size))]), [whole], source=source)
    before = source.asked
    assert np.array_equal(np.asarray(held), whole) and held.item(i, j) == whole[i, j]
    assert source.asked == before
