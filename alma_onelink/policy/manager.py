"""Loading a policy: the defaults, an institution plugin and add-ons, behind the typed ``Policy`` facade.

A plugin manager is built per ``load_policy`` call, never at import time. Registration order is:
the in-tree defaults, add-ons from the ``alma_onelink.plugins`` entry-point group, the institution
plugin from ``alma_onelink.policies``, then any plugins passed in. pluggy asks the plugin registered
last first, so the institution overrides the add-ons and the defaults, and a plugin passed in
overrides everything (handy in tests and notebooks); ``tryfirst``/``trylast`` adjust this.
"""

from __future__ import annotations

import difflib
import inspect
import types
from collections.abc import Iterable
from importlib.metadata import EntryPoint, entry_points
from typing import Final

import pluggy

from alma_onelink.errors import InputError

from . import defaults, hookspecs
from ._guard import guarded_plugin
from ._policy import DEFAULT_POLICY, EXPIRY_NOT_AFTER_TODAY, Policy
from .types import PolicyError

__all__ = [
    "DEFAULT_POLICY",
    "EXPIRY_NOT_AFTER_TODAY",
    "PLUGIN_GROUP",
    "POLICY_GROUP",
    "Policy",
    "available_policies",
    "load_policy",
]

POLICY_GROUP: Final = "alma_onelink.policies"
"""Entry-point group of institution policies; ``load_policy(name)`` picks one by name."""

PLUGIN_GROUP: Final = "alma_onelink.plugins"
"""Entry-point group of add-on plugins; every one is loaded with every policy."""


def _entry_points(group: str) -> list[EntryPoint]:
    # One function to read entry points, so tests can stand in for installed distributions.
    return sorted(entry_points(group=group), key=lambda ep: ep.name)


def available_policies() -> list[str]:
    """Names ``load_policy`` accepts: ``"default"`` plus every installed ``alma_onelink.policies`` entry."""
    names = {ep.name for ep in _entry_points(POLICY_GROUP)} - {DEFAULT_POLICY}
    return [DEFAULT_POLICY, *sorted(names)]


def load_policy(name: str = DEFAULT_POLICY, *, plugins: Iterable[object] = (), addons: bool = True) -> Policy:
    """Build the policy ``name``: the defaults, add-ons, the institution plugin, then ``plugins``.

    ``plugins`` are extra plugin objects (modules, instances or classes to instantiate) asked
    before all others. ``addons=False`` skips the ``alma_onelink.plugins`` entry points.
    Raises ``PolicyError`` for an unknown name (the message lists the installed policies), a
    plugin that cannot be imported or set up, or a hook implementation no spec knows (a typo).
    """
    if not isinstance(name, str):
        raise PolicyError(
            f"A policy name is text, like 'duke'; got {name!r}. Installed: {', '.join(available_policies())}."
        )
    name = name.strip()
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    originals: dict[str, object] = {}

    def register(plugin_name: str, plugin: object) -> None:
        if plugin_name in originals:
            raise PolicyError(
                f"Two plugins are called {plugin_name!r}; rename one of the entry points.", plugin=plugin_name
            )
        try:
            manager.register(guarded_plugin(plugin_name, plugin, manager), name=plugin_name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            raise PolicyError(f"Plugin {plugin_name!r} cannot be used: {exc}", plugin=plugin_name) from exc
        originals[plugin_name] = plugin

    register(DEFAULT_POLICY, defaults)
    if addons:
        for ep in _entry_points(PLUGIN_GROUP):
            register(ep.name, _load(ep))
    if name != DEFAULT_POLICY:
        register(name, _load(_find_policy(name)))
    for plugin in plugins:
        register(_unique(_name_of(plugin), originals), _instantiate(plugin, _name_of(plugin)))
    _check_pending(manager)
    return Policy(name, manager, originals)


def _find_policy(name: str) -> EntryPoint:
    found = [ep for ep in _entry_points(POLICY_GROUP) if ep.name == name]
    if not found:
        installed = available_policies()
        close = difflib.get_close_matches(name, installed, n=1, cutoff=0.5)
        maybe = f" Did you mean {close[0]!r}?" if close else ""
        raise PolicyError(
            f"No policy named {name!r}.{maybe} Installed policies: {', '.join(installed)}. "
            f"A policy is installed with its distribution, which registers it in the "
            f"{POLICY_GROUP!r} entry-point group."
        )
    if len(found) > 1:
        sources = ", ".join(f"{ep.value} ({_dist(ep)})" for ep in found)
        raise PolicyError(f"More than one distribution registers the policy {name!r}: {sources}.")
    return found[0]


def _dist(ep: EntryPoint) -> str:
    return ep.dist.name if ep.dist is not None else "unknown distribution"


def _load(ep: EntryPoint) -> object:
    try:
        plugin = ep.load()
    except Exception as exc:
        raise PolicyError(
            f"Plugin {ep.name!r} ({ep.value}, from {_dist(ep)}) could not be imported: {type(exc).__name__}: {exc}",
            plugin=ep.name,
        ) from exc
    return _instantiate(plugin, ep.name)


def _instantiate(plugin: object, name: str) -> object:
    if not inspect.isclass(plugin):
        return plugin
    # A class is set up once per load: that is when a plugin reads its configuration.
    try:
        return plugin()
    except (PolicyError, InputError):
        raise
    except Exception as exc:
        raise PolicyError(f"Plugin {name!r} could not be set up: {type(exc).__name__}: {exc}", plugin=name) from exc


def _name_of(plugin: object) -> str:
    if isinstance(plugin, types.ModuleType):
        return plugin.__name__
    if inspect.isclass(plugin):
        return plugin.__name__
    return type(plugin).__name__


def _unique(name: str, taken: dict[str, object]) -> str:
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}#{n}"
    return candidate


def _check_pending(manager: pluggy.PluginManager) -> None:
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as exc:
        known = [n for n in dir(hookspecs) if n.startswith(f"{hookspecs.PROJECT_NAME}_")]
        for hook_name, caller in vars(manager.hook).items():
            if hook_name.startswith("_") or caller.has_spec():
                continue
            for impl in caller.get_hookimpls():
                close = difflib.get_close_matches(hook_name, known, n=1)
                maybe = f" Did you mean {close[0]!r}?" if close else ""
                raise PolicyError(
                    f"Plugin {impl.plugin_name!r} implements {hook_name!r}, which is not an "
                    f"alma_onelink hook.{maybe} Hooks: {', '.join(known)}.",
                    plugin=impl.plugin_name,
                    hook=hook_name,
                ) from exc
        raise PolicyError(str(exc)) from exc
