"""Named choices a front end lists and a caller picks from by name: stacking methods, output formats."""
from __future__ import annotations

from typing import Protocol, TypeVar

from tether.imaging.errors import ImagingError


class Named(Protocol):
    @property
    def name(self) -> str: ...


T = TypeVar("T", bound=Named)


class Choices(dict[str, T]):
    """The ``items`` by name, in the order given; the first is the default."""

    def __init__(self, what: str, *items: T) -> None:
        super().__init__((item.name, item) for item in items)
        self.what = what
        self.default = items[0].name

    def pick(self, name: str) -> T:
        """The choice called ``name``; ImagingError naming the choices if there is none."""
        try:
            return self[name]
        except KeyError:
            raise ImagingError(f"unknown {self.what} {name!r}; choose {' or '.join(self)}") from None
