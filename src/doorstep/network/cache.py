"""A disk cache of prepared road networks and matrices, and where numba keeps compiled code.

Keys are SHA-256 digests of the inputs: the road file's *content* (not its
name or date), the profile, the speeds, the hour's multipliers, the
locations. Changing any of them gives a new key, so a stale entry is never
read. Entries are written to a temporary file and renamed into place, so a
crash never leaves half an entry behind.

The cache is bounded: after each write, the entries least recently used
(written or read) are deleted until all of them together take at most
``$DOORSTEP_CACHE_MAX_MB`` megabytes (MiB; default 500; 0 stores nothing).

The folder is ``$DOORSTEP_CACHE_DIR``, else ``$XDG_CACHE_HOME/doorstep``,
else ``~/.cache/doorstep``. Delete it at any time to reclaim space. numba's
compiled code goes to its ``numba`` subfolder (or ``$NUMBA_CACHE_DIR``), never
next to the source files: see :func:`jit`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt

from doorstep.errors import InputError

FORMAT = "3"
"""Bump when what is stored changes shape; old entries are then ignored."""

Arrays = Mapping[str, npt.NDArray[np.generic]]

MAX_MB_ENV = "DOORSTEP_CACHE_MAX_MB"
DEFAULT_MAX_MB = 500
"""Default bound of the cache's entries, in MiB."""

_STALE_TMP_S = 3600
"""A temporary file this old is left over from a crashed write: removed when evicting."""

F = TypeVar("F", bound=Callable[..., Any])


def default_cache_dir() -> Path:
    """The cache folder from the environment (see the module docs)."""
    if explicit := os.environ.get("DOORSTEP_CACHE_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "doorstep"


def max_cache_bytes() -> int:
    """The cache's bound in bytes, from ``$DOORSTEP_CACHE_MAX_MB`` (MiB; default 500).

    Raises
    ------
    InputError
        The variable is set to something that is not a non-negative number.
    """
    raw = os.environ.get(MAX_MB_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_MB << 20
    try:
        mb = float(raw)
    except ValueError:
        mb = -1.0
    if not mb >= 0 or mb == float("inf"):
        raise InputError(
            f"{MAX_MB_ENV}={raw!r} is not a size in megabytes",
            hint=f"Set it to a number such as {DEFAULT_MAX_MB} (0 stores nothing), "
            f"or unset it for the default {DEFAULT_MAX_MB}.",
        )
    return int(mb * (1 << 20))


def numba_cache_dir() -> Path:
    """Where numba keeps Doorstep's compiled code: ``$NUMBA_CACHE_DIR``, else ``cache/numba``."""
    if explicit := os.environ.get("NUMBA_CACHE_DIR"):
        return Path(explicit)
    return default_cache_dir() / "numba"


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError:
        return False
    return True


def usable_numba_cache_dir() -> Path | None:
    """The folder :func:`jit` gives numba: the first that can be written, or None.

    :func:`numba_cache_dir`, else ``doorstep-numba`` in the temporary
    directory; None when neither can be written (numba then chooses).
    """
    for folder in (numba_cache_dir(), Path(tempfile.gettempdir()) / "doorstep-numba"):
        if _writable(folder):
            return folder
    return None


_JIT_FOLDERS: dict[str, Path | None] = {}


def jit_cache_folder(function: Callable[..., Any]) -> Path | None:
    """The folder :func:`jit` gave numba for ``function`` when it was decorated (None: numba's)."""
    py_func = getattr(function, "py_func", function)
    return _JIT_FOLDERS.get(f"{py_func.__module__}.{py_func.__qualname__}")


def jit(*, parallel: bool = False) -> Callable[[F], F]:
    """``numba.njit(cache=True)`` with the compiled code kept in :func:`numba_cache_dir`.

    numba would otherwise write it into ``__pycache__`` next to the source
    (inside the source tree or site-packages). The folder is chosen when a
    function is decorated, from the environment at that moment; when it
    cannot be written, a ``doorstep-numba`` folder in the temporary directory
    is used, and when neither can, numba's own choice.

    Parameters
    ----------
    parallel
        Passed to numba: run ``numba.prange`` loops on all cores.

    Returns
    -------
    Callable
        The decorator.
    """
    import numba
    from numba.core import config as numba_config

    config: Any = numba_config  # CACHE_DIR is set by a loop numba's types do not show

    def decorate(function: F) -> F:
        chosen = usable_numba_cache_dir()
        _JIT_FOLDERS[f"{function.__module__}.{function.__qualname__}"] = chosen
        previous = config.CACHE_DIR
        if chosen is not None:
            config.CACHE_DIR = str(chosen)
        try:
            return cast(F, numba.njit(cache=True, parallel=parallel)(function))
        finally:
            config.CACHE_DIR = previous

    return decorate


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
    """Named arrays stored as ``.npz`` files under ``root/kind/key.npz``, least recently used out.

    Parameters
    ----------
    root
        The cache folder; None means :func:`default_cache_dir`.
    enabled
        False turns every lookup into a miss and every store into nothing.
    max_bytes
        Bound of all entries together (every kind); None means
        :func:`max_cache_bytes`. Each store deletes the least recently used
        entries (by modification time: written or read) until the rest fit;
        an entry larger than the bound is not stored.

    Raises
    ------
    InputError
        ``max_bytes`` is None and ``$DOORSTEP_CACHE_MAX_MB`` is not a size.
    """

    def __init__(
        self, root: Path | None = None, *, enabled: bool = True, max_bytes: int | None = None
    ) -> None:
        self.root = root if root is not None else default_cache_dir()
        self.enabled = enabled
        self.max_bytes = max_bytes if max_bytes is not None else max_cache_bytes()

    def _path(self, kind: str, key: str) -> Path:
        return self.root / kind / f"{key}.npz"

    def load(self, kind: str, key: str) -> dict[str, npt.NDArray[np.generic]] | None:
        """The arrays stored under ``key``, or None."""
        path = self._path(kind, key)
        if not self.enabled or not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files}
        except (OSError, ValueError):
            return None  # unreadable entry: rebuild it
        with contextlib.suppress(OSError):
            os.utime(path)  # used now: the last to be evicted
        return arrays

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
            if os.path.getsize(tmp) > self.max_bytes:
                os.unlink(tmp)  # could never fit
                return
            os.replace(tmp, path)
            self.evict(keep=path)
        except OSError:
            return

    def entries(self, kind: str) -> list[Path]:
        """The stored entries of one kind."""
        folder = self.root / kind
        return sorted(folder.glob("*.npz")) if folder.is_dir() else []

    def _all_entries(self) -> list[tuple[int, str, int]]:
        """``(mtime_ns, path, size)`` of every entry of every kind; stale temporaries removed."""
        found: list[tuple[int, str, int]] = []
        if not self.root.is_dir():
            return found
        stale = time.time() - _STALE_TMP_S
        for folder in self.root.iterdir():
            if folder.name == "numba" or not folder.is_dir():
                continue
            for entry in os.scandir(folder):
                try:
                    info = entry.stat()
                    if entry.name.endswith(".npz"):
                        found.append((info.st_mtime_ns, entry.path, info.st_size))
                    elif entry.name.endswith(".tmp") and info.st_mtime < stale:
                        os.unlink(entry.path)
                except OSError:
                    continue  # removed meanwhile by another process
        return found

    def size_bytes(self) -> int:
        """Bytes taken by all entries together."""
        return sum(size for _, _, size in self._all_entries())

    def evict(self, keep: Path | None = None) -> int:
        """Delete the least recently used entries until the rest fit in ``max_bytes``.

        Parameters
        ----------
        keep
            An entry never deleted (the one just written).

        Returns
        -------
        int
            Number of entries deleted.
        """
        entries = self._all_entries()
        total = sum(size for _, _, size in entries)
        deleted = 0
        for _, path, size in sorted(entries):
            if total <= self.max_bytes:
                break
            if keep is not None and path == str(keep):
                continue
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass  # another process evicted it
            except OSError:
                continue
            total -= size
            deleted += 1
        return deleted
