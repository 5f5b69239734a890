"""A disk cache of prepared road networks and matrices, keyed by what they were made from.

Keys are SHA-256 digests of the inputs: the road file's *content* (not its
name or date), the profile, the speeds, the hour's multipliers, the
locations. Changing any of them gives a new key, so a stale entry is never
read; old entries just stay until the folder is cleared. Entries are
written to a temporary file and renamed into place, so a crash never leaves
half an entry behind.

The folder is ``$DOORSTEP_CACHE_DIR``, else ``$XDG_CACHE_HOME/doorstep``,
else ``~/.cache/doorstep``. Delete it at any time to reclaim space.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt

FORMAT = "3"
"""Bump when what is stored changes shape; old entries are then ignored."""

Arrays = Mapping[str, npt.NDArray[np.generic]]


def default_cache_dir() -> Path:
    """The cache folder from the environment (see the module docs)."""
    if explicit := os.environ.get("DOORSTEP_CACHE_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "doorstep"


def digest(*parts: str | bytes) -> str:
    """SHA-256 of ``parts`` (with separators, so ("ab", "c") != ("a", "bc"))."""
    h = hashlib.sha256(FORMAT.encode())
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


_FILE_DIGESTS: dict[tuple[str, int, int], str] = {}


def file_digest(path: Path) -> str:
    """SHA-256 of the file's content (remembered per path, size and mtime)."""
    stat = path.stat()
    memo = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if memo not in _FILE_DIGESTS:
        h = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                h.update(block)
        _FILE_DIGESTS[memo] = h.hexdigest()
    return _FILE_DIGESTS[memo]


class DiskCache:
    """Named arrays stored as ``.npz`` files under ``root/kind/key.npz``.

    Parameters
    ----------
    root
        The cache folder; None means :func:`default_cache_dir`.
    enabled
        False turns every lookup into a miss and every store into nothing.
    """

    def __init__(self, root: Path | None = None, *, enabled: bool = True) -> None:
        self.root = root if root is not None else default_cache_dir()
        self.enabled = enabled

    def _path(self, kind: str, key: str) -> Path:
        return self.root / kind / f"{key}.npz"

    def load(self, kind: str, key: str) -> dict[str, npt.NDArray[np.generic]] | None:
        """The arrays stored under ``key``, or None."""
        path = self._path(kind, key)
        if not self.enabled or not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                return {name: data[name] for name in data.files}
        except (OSError, ValueError):
            return None  # unreadable entry: rebuild it

    def save(self, kind: str, key: str, arrays: Arrays) -> None:
        """Store ``arrays`` under ``key`` (atomically; failures only cost the cache)."""
        if not self.enabled:
            return
        path = self._path(kind, key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "wb") as handle:
                np.savez(handle, **arrays)  # type: ignore[arg-type]
            os.replace(tmp, path)
        except OSError:
            return

    def entries(self, kind: str) -> list[Path]:
        """The stored entries of one kind."""
        folder = self.root / kind
        return sorted(folder.glob("*.npz")) if folder.is_dir() else []
