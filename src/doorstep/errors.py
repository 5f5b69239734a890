"""The exception tree, each class with a stable machine-readable ``code``.

::

    DoorstepError                 code="internal"    anything we did not foresee
    ├── InputError                code="input"       the user's input cannot be used
    │   ├── UnsupportedFormatError    "unsupported_format"   unknown file type
    │   ├── EmptyInputError           "empty_input"          no data rows at all
    │   ├── NoRecognisedColumnsError  "no_recognised_columns" header matches nothing
    │   ├── CorruptFileError          "corrupt_file"         truncated or unreadable file
    │   ├── TooLargeError             "too_large"            past a reader's row, column or size cap
    │   ├── InstanceFormatError       "instance_format"      a benchmark file that does not parse
    │   └── RoadNetworkError          "road_network"         a .pbf with no roads for a profile
    ├── DomainError               code="domain"      a domain object built with impossible values
    │   └── InvalidTransitionError    "invalid_transition"   a scan event a parcel cannot take
    └── RouterError               code="router"      a routing server failed or answered nonsense
        └── RouterUnavailableError    "router_unavailable"   no answer (refused, timed out)

The command-line interface turns an :class:`InputError` into one clear message and
exit code 2; the service (later) into an ``application/problem+json`` 4xx body.
"""

from __future__ import annotations

__all__ = [
    "CorruptFileError",
    "DomainError",
    "DoorstepError",
    "EmptyInputError",
    "InputError",
    "InstanceFormatError",
    "InvalidTransitionError",
    "NoRecognisedColumnsError",
    "RoadNetworkError",
    "RouterError",
    "RouterUnavailableError",
    "TooLargeError",
    "UnsupportedFormatError",
]


class DoorstepError(Exception):
    """Base class of every error Doorstep raises on purpose."""

    code = "internal"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message} {self.hint}"


class InputError(DoorstepError):
    """The user's input cannot be used as it is; the message says what to change."""

    code = "input"


class UnsupportedFormatError(InputError):
    """The file type is not one Doorstep reads."""

    code = "unsupported_format"


class EmptyInputError(InputError):
    """The file holds no data rows."""

    code = "empty_input"


class NoRecognisedColumnsError(InputError):
    """None of the header's columns is one Doorstep knows."""

    code = "no_recognised_columns"


class CorruptFileError(InputError):
    """The file is truncated, damaged or not what its extension says."""

    code = "corrupt_file"


class TooLargeError(InputError):
    """The file is beyond a reader's cap on rows, columns or unpacked size (docs/formats.md)."""

    code = "too_large"


class InstanceFormatError(InputError):
    """A benchmark instance file (Solomon, Li & Lim, VRPLIB, VROOM) does not parse."""

    code = "instance_format"


class RoadNetworkError(InputError):
    """A road network file that cannot be used (no routable roads for the profile)."""

    code = "road_network"


class DomainError(DoorstepError):
    """A domain object was given values it cannot hold (a window ending before it starts)."""

    code = "domain"


class InvalidTransitionError(DomainError):
    """A scan event that the parcel's current state does not allow."""

    code = "invalid_transition"


class RouterError(DoorstepError):
    """A routing server (OSRM, Valhalla) answered with an error or an unreadable body."""

    code = "router"


class RouterUnavailableError(RouterError):
    """A routing server could not be reached, or timed out after every retry."""

    code = "router_unavailable"
