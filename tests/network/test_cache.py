"""Tests for the disk cache: its bound with least-recently-used eviction, and numba's folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from doorstep.errors import InputError
from doorstep.network.cache import DEFAULT_MAX_MB, DiskCache, max_cache_bytes

ENTRY = {"a": np.zeros(12_500, dtype=np.int64)}
"""About 100 KB stored."""
OLD = 1_000_000_000
"""A modification time (s) long past: entries dated from it are older than anything read now."""


def entry_size(tmp_path: Path) -> int:
    probe = DiskCache(tmp_path / "probe", max_bytes=1 << 30)
    probe.save("matrices", "x", ENTRY)
    return (tmp_path / "probe" / "matrices" / "x.npz").stat().st_size


def save_dated(cache: DiskCache, kind: str, key: str, age: int) -> Path:
    """Store ENTRY under ``key`` and date it ``OLD + age`` seconds (larger: more recent)."""
    cache.save(kind, key, ENTRY)
    path = cache.root / kind / f"{key}.npz"
    os.utime(path, (OLD + age, OLD + age))
    return path


def test_writing_past_the_cap_evicts_the_oldest_entries(tmp_path: Path) -> None:
    """Ten entries where four fit: the six oldest go, across kinds, and the rest fit the cap."""
    size = entry_size(tmp_path)
    cache = DiskCache(tmp_path / "c", max_bytes=4 * size + size // 2)
    paths = [
        save_dated(cache, ("networks", "metrics", "matrices")[i % 3], f"k{i}", i) for i in range(10)
    ]
    assert [p.exists() for p in paths] == [False] * 6 + [True] * 4
    assert cache.size_bytes() <= cache.max_bytes
    assert cache.load("networks", "k9") is not None


def test_reading_an_entry_keeps_it_from_eviction(tmp_path: Path) -> None:
    """An old entry that was just read outlives younger entries that were not."""
    size = entry_size(tmp_path)
    cache = DiskCache(tmp_path / "c", max_bytes=3 * size + size // 2)
    first, second, third = (save_dated(cache, "matrices", f"k{i}", i) for i in range(3))
    assert cache.load("matrices", "k0") is not None
    save_dated(cache, "matrices", "k3", 3)
    assert first.exists()
    assert not second.exists()
    assert third.exists()


def test_the_entry_just_written_is_kept(tmp_path: Path) -> None:
    """Eviction never deletes the entry it was told to keep, even when it is the oldest."""
    size = entry_size(tmp_path)
    cache = DiskCache(tmp_path / "c", max_bytes=1 << 30)
    kept = save_dated(cache, "matrices", "kept", 0)
    other = save_dated(cache, "matrices", "other", 1)
    cache.max_bytes = size + size // 2
    assert cache.evict(keep=kept) == 1
    assert kept.exists()
    assert not other.exists()


def test_an_entry_larger_than_the_cap_is_not_stored(tmp_path: Path) -> None:
    """An entry that could never fit is not written, and no temporary file is left."""
    cache = DiskCache(tmp_path / "c", max_bytes=1_000)
    cache.save("matrices", "big", ENTRY)
    assert cache.load("matrices", "big") is None
    assert list((tmp_path / "c" / "matrices").iterdir()) == []


def test_stale_temporary_files_are_removed(tmp_path: Path) -> None:
    """A temporary file left by a crashed write long ago is removed by the next write."""
    cache = DiskCache(tmp_path / "c")
    (tmp_path / "c" / "matrices").mkdir(parents=True)
    stale = tmp_path / "c" / "matrices" / "abc.tmp"
    stale.write_bytes(b"half")
    os.utime(stale, (OLD, OLD))
    cache.save("matrices", "k", ENTRY)
    assert not stale.exists()


def test_the_cap_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """$DOORSTEP_CACHE_MAX_MB in MiB; unset or empty gives the default."""
    monkeypatch.delenv("DOORSTEP_CACHE_MAX_MB", raising=False)
    assert max_cache_bytes() == DEFAULT_MAX_MB << 20
    monkeypatch.setenv("DOORSTEP_CACHE_MAX_MB", "2.5")
    assert DiskCache(Path("unused")).max_bytes == int(2.5 * (1 << 20))
    monkeypatch.setenv("DOORSTEP_CACHE_MAX_MB", "0")
    assert max_cache_bytes() == 0


@pytest.mark.parametrize("value", ["lots", "-1", "nan", "inf"])
def test_a_bad_cap_names_the_variable(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    """A cap that is not a non-negative size is an InputError naming the variable and the fix."""
    monkeypatch.setenv("DOORSTEP_CACHE_MAX_MB", value)
    with pytest.raises(InputError, match="DOORSTEP_CACHE_MAX_MB") as caught:
        DiskCache(Path("unused"))
    assert caught.value.hint is not None and "500" in caught.value.hint


CACHE_PATHS = """
from doorstep.network import cch
for f in vars(cch).values():
    if hasattr(f, "py_func"):
        print(f._cache._cache_path)
"""


@pytest.mark.parametrize(
    ("variable", "folder"),
    [
        ("DOORSTEP_CACHE_DIR", "numba"),
        ("XDG_CACHE_HOME", "doorstep/numba"),
        ("NUMBA_CACHE_DIR", ""),
    ],
)
def test_numba_code_is_cached_in_the_cache_folder(
    tmp_path: Path, variable: str, folder: str
) -> None:
    """Every jitted function's compiled code goes under the cache folder, never the source tree."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DOORSTEP_CACHE_DIR", "XDG_CACHE_HOME", "NUMBA_CACHE_DIR")
    }
    env[variable] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", CACHE_PATHS], capture_output=True, text=True, env=env, check=True
    )
    paths = [Path(line) for line in result.stdout.split()]
    assert len(paths) == 12
    expected = tmp_path / folder
    assert all(p.parent == expected for p in paths), result.stdout
