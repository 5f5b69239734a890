"""Quantities carried: a demand or a capacity in three dimensions."""

from __future__ import annotations

from dataclasses import dataclass

from doorstep.errors import DomainError


def check_non_negative(what: str, holder: object, *amounts: int) -> None:
    """Refuse a negative amount among ``amounts`` of ``holder`` (quantities, costs).

    Raises
    ------
    DomainError
        "``what`` cannot be negative: ``holder``".
    """
    if min(amounts, default=0) < 0:
        raise DomainError(f"{what} cannot be negative: {holder}")


@dataclass(frozen=True, slots=True)
class Load:
    """Parcels, grams and millilitres.

    Used both for an order's demand and a vehicle's capacity. A capacity of 0 in
    a dimension the fleet file left empty means "not limited" only where
    :attr:`doorstep.domain.fleet.Vehicle.capacity` documents it.
    """

    parcels: int = 0
    weight_g: int = 0
    volume_ml: int = 0

    def __post_init__(self) -> None:
        check_non_negative("quantities", self, self.parcels, self.weight_g, self.volume_ml)

    def __add__(self, other: Load) -> Load:
        return Load(
            self.parcels + other.parcels,
            self.weight_g + other.weight_g,
            self.volume_ml + other.volume_ml,
        )

    def fits_in(self, capacity: Load) -> bool:
        """Whether this load fits within ``capacity`` in every dimension."""
        return (
            self.parcels <= capacity.parcels
            and self.weight_g <= capacity.weight_g
            and self.volume_ml <= capacity.volume_ml
        )

    def as_tuple(self) -> tuple[int, int, int]:
        """The three dimensions as ``(parcels, weight_g, volume_ml)``."""
        return (self.parcels, self.weight_g, self.volume_ml)
