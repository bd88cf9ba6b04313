"""Named choices a front end lists and a caller picks from by name: sweep modes, stacking methods,
output formats. Each list is one :class:`Choices`, defined once beside what it chooses between; the
CLI's options, the web API's checks and the pages' menus all read it."""
from __future__ import annotations

from typing import Any, Protocol, TypeVar

from tether.errors import InvalidInput


class Named(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def label(self) -> str: ...


T = TypeVar("T", bound=Named)


class Choices(dict[str, T]):
    """The ``items`` by name, in the order given; the first is the default."""

    def __init__(self, what: str, *items: T) -> None:
        super().__init__((item.name, item) for item in items)
        self.what = what
        self.default = items[0].name

    def pick(self, name: Any) -> T:
        """The choice called ``name``; InvalidInput naming the choices if there is none."""
        if isinstance(name, str) and name in self:
            return self[name]
        raise InvalidInput(f"{self.what} must be one of {', '.join(self)}, not {name!r}")

    def check(self, option: str, value: Any) -> str:
        """A rule for :func:`tether.checks.checked`: the name of a choice, the message naming ``option``."""
        if isinstance(value, str) and value in self:
            return value
        raise InvalidInput(f"{option} must be one of {', '.join(self)}, not {value!r}")
