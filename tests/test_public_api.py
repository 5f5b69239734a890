"""The public API is re-exported with a sorted __all__."""

import doorstep
import doorstep.domain
import doorstep.errors
import doorstep.gate
import doorstep.network


def _isort_key(name: str) -> tuple[int, str]:
    """Constants first, then classes, then functions (ruff RUF022's order)."""
    if name.isupper():
        return (0, name)
    return (1, name) if name[:1].isupper() else (2, name)


def test_all_lists_are_sorted_and_importable() -> None:
    """Each package's __all__ is sorted (isort-style) and names things that exist."""
    for module in (doorstep, doorstep.domain, doorstep.gate, doorstep.errors, doorstep.network):
        names = list(module.__all__)
        assert names == sorted(names, key=_isort_key), module.__name__
        for name in names:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_error_codes_are_unique() -> None:
    """Every exception class has its own stable code."""
    classes = [getattr(doorstep.errors, n) for n in doorstep.errors.__all__]
    codes = [c.code for c in classes]
    assert len(codes) == len(set(codes))
