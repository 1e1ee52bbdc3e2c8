"""One plug-in registry mechanism: name -> factory, built-ins imported on first use.

Connectors, notifiers and search backends each keep one `Registry`. A built-in plug-in's
module registers itself when imported; the registry imports it only when its name is first
asked for, so a process loads only the plug-ins it uses (and no layer imports another's
plug-ins at start-up)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Generic, TypeVar

F = TypeVar("F")


class Registry(Generic[F]):
    """Factories by name; `builtins` maps a name to the module that registers it."""

    def __init__(self, what: str, builtins: Mapping[str, str] | None = None) -> None:
        self.what = what
        self._builtins = dict(builtins or {})
        self._factories: dict[str, F] = {}

    def register(self, name: str, factory: F) -> F:
        """Register (or replace) the factory for `name`; returns it, so it can decorate."""
        self._factories[name] = factory
        return factory

    def get(self, name: str) -> F:
        """The factory for `name`, importing its built-in module first if needed."""
        if name not in self._factories and name in self._builtins:
            importlib.import_module(self._builtins[name])
        try:
            return self._factories[name]
        except KeyError:
            known = ", ".join(self.names()) or "none"
            raise KeyError(f"no {self.what} {name!r} (known: {known})") from None

    def unregister(self, name: str) -> None:
        """Forget `name` (tests that register a plug-in of their own)."""
        self._factories.pop(name, None)

    def names(self) -> list[str]:
        """Every name that has a factory or a built-in module."""
        return sorted(set(self._factories) | set(self._builtins))
