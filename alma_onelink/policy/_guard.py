"""Guards around every hook implementation: name the plugin when one raises or answers wrongly.

pluggy reports neither which implementation produced a result nor which one raised, so each
implementation is registered through a stand-in whose functions call the real one, check the
answer's type, and turn a failure into a ``PolicyError`` that names the plugin and the hook.

Date arithmetic that runs past the calendar (a purge date a year after an expiry of 9999-12-31:
``OverflowError``, or ``ValueError: year 10000 is out of range``) is not a broken plugin but dates
no policy can work with: it becomes an ``InputError`` naming the dates and what to check.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Generator, Iterable, Mapping
from datetime import date, datetime
from typing import Any

import pluggy

from alma_onelink.errors import AlmaError, InputError
from alma_onelink.models import Code, UserStatistic

from . import hookspecs
from .hookspecs import PROJECT_NAME
from .types import Affiliation, EligibilityIssue, PolicyError

__all__ = ["guarded_plugin"]


class _WrongAnswer(Exception):
    """Raised by a check: the answer does not have the promised type."""


def _date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if value is None or isinstance(value, date):
        return value
    raise _WrongAnswer


def _code(value: object) -> Code | None:
    if value is None:
        return None
    if not isinstance(value, Code) or not (value.value or "").strip():
        raise _WrongAnswer
    return value


def _statistic(value: object) -> UserStatistic | None:
    if value is None:
        return None
    if not isinstance(value, UserStatistic):
        raise _WrongAnswer
    if value.category_type is None or value.statistic_category is None:
        raise _WrongAnswer
    if not (value.category_type.value and value.statistic_category.value):
        raise _WrongAnswer
    return value


def _message(value: object) -> str | None:
    if value is None or (isinstance(value, str) and value.strip()):
        return value
    raise _WrongAnswer


def _note(value: object) -> str | None:
    if isinstance(value, str) and len(value.strip()) > _NOTE_LIMIT:
        raise _WrongAnswer
    return _message(value)


_NOTE_LIMIT = 2000
"""Alma's limit on ``note_text``."""


def _list_of(kind: type[Any]) -> Callable[[object], list[Any] | None]:
    def check(value: object) -> list[Any] | None:
        if value is None:
            return None
        if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
            raise _WrongAnswer
        items = list(value)
        if not all(isinstance(item, kind) for item in items):
            raise _WrongAnswer
        return items

    return check


def _links(value: object) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _WrongAnswer
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise _WrongAnswer
    return dict(value)


def _nothing(value: object) -> None:
    if value is not None:
        raise _WrongAnswer


def _flag(value: object) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise _WrongAnswer


def _purge(value: object) -> date | bool | None:
    return False if value is False else _date(value)


# hook → (check of one implementation's answer, what a right answer is)
_CHECKS: dict[str, tuple[Callable[[object], object], str]] = {
    "alma_onelink_affiliations": (_list_of(Affiliation), "a list of Affiliation, or None"),
    "alma_onelink_validate_onelink_id": (
        _message,
        "a message (a non-blank str), or None when the id is fine",
    ),
    "alma_onelink_patron_group": (_code, 'a Code with a value, like Code(value="ALUM"), or None'),
    "alma_onelink_patron_type": (
        _statistic,
        "a UserStatistic with category_type and statistic_category, or None",
    ),
    "alma_onelink_expiry_date": (_date, "a datetime.date, or None"),
    "alma_onelink_purge_date": (_purge, "a datetime.date, NO_PURGE_DATE, or None"),
    "alma_onelink_eligibility": (_list_of(EligibilityIssue), "a list of EligibilityIssue, or None"),
    "alma_onelink_prepare_user": (_nothing, "None (change `user` in place)"),
    "alma_onelink_links": (_links, "a dict of str keys to str URLs, or None"),
    "alma_onelink_unset_links": (_links, "a dict of str keys to str sentences, or None"),
    "alma_onelink_search_with_or": (_flag, "True or False, or None"),
    "alma_onelink_timezone": (_message, 'an IANA time zone name like "America/New_York", or None'),
    "alma_onelink_merge_segments": (_list_of(str), 'a list of segment names like ["identifiers", "notes"], or None'),
    "alma_onelink_merge_veto": (_message, "a reason (a non-blank str), or None for no objection"),
    "alma_onelink_merge_note": (_note, "the note text (a non-blank str of at most 2000 characters), or None"),
}


def _is_firstresult(hook: str) -> bool:
    opts = getattr(getattr(hookspecs, hook, None), f"{PROJECT_NAME}_spec", None) or {}
    return bool(opts.get("firstresult"))


def _describe(value: object) -> str:
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} ({type(value).__name__})"


def _checked(plugin: str, hook: str, value: object) -> object:
    if hook not in _CHECKS:
        return value
    check, expected = _CHECKS[hook]
    try:
        result = check(value)
    except _WrongAnswer:
        raise PolicyError(
            f"Plugin {plugin!r} returned {_describe(value)} from {hook}; it must return {expected}.",
            plugin=plugin,
            hook=hook,
        ) from None
    if hook == "alma_onelink_eligibility" and isinstance(result, list):
        # Staff (and the audit journal) can see which plugin raised each issue.
        result = [i if i.source else dataclasses.replace(i, source=plugin) for i in result]
    return result


def _checked_wrapper_result(plugin: str, hook: str, value: object) -> object:
    # A wrapper's answer replaces the whole result: one value for a firstresult hook, else a list.
    if _is_firstresult(hook) or hook not in _CHECKS:
        return _checked(plugin, hook, value)
    if not isinstance(value, list):
        raise PolicyError(
            f"Wrapper {plugin!r} returned {_describe(value)} from {hook}; a wrapper of a collected "
            "hook must return the list of results it received (changed if need be).",
            plugin=plugin,
            hook=hook,
        )
    return [_checked(plugin, hook, item) for item in value]


def _failure(plugin: str, hook: str, exc: Exception, args: tuple[Any, ...] = ()) -> AlmaError:
    if _is_date_overflow(exc):
        return _date_overflow(plugin, hook, exc, args)
    return PolicyError(f"Plugin {plugin!r} failed in {hook}: {type(exc).__name__}: {exc}", plugin=plugin, hook=hook)


_WHAT: dict[str, str] = {
    "alma_onelink_expiry_date": "the expiry date",
    "alma_onelink_purge_date": "the purge date",
    "alma_onelink_eligibility": "whether the patron may register",
    "alma_onelink_prepare_user": "the record",
    "alma_onelink_merge_note": "the note on the merged account",
}


def _is_date_overflow(exc: Exception) -> bool:
    """Whether ``exc`` is date arithmetic past the calendar's ends (``date.max`` is 9999-12-31)."""
    if isinstance(exc, OverflowError):
        return True
    return isinstance(exc, ValueError) and "out of range" in str(exc)


def _dates_in(args: tuple[Any, ...]) -> list[date]:
    """The dates a hook was given: its date arguments, and those of the patron (graduation, leaving, gift)."""
    found: list[date] = []
    for arg in args:
        if isinstance(arg, date):
            found.append(arg)
        for name in ("graduated_on", "left_on", "expiry_date"):
            value = getattr(arg, name, None)
            if isinstance(value, date):
                found.append(value)
        given_on = getattr(getattr(arg, "donation", None), "given_on", None)
        if isinstance(given_on, date):
            found.append(given_on)
    return found


def _date_overflow(plugin: str, hook: str, exc: Exception, args: tuple[Any, ...]) -> InputError:
    """A plugin's date arithmetic that ran past the calendar: a clear error about the dates, not a crash."""
    dates = sorted({day.isoformat() for day in _dates_in(args)}, reverse=True)
    given = f" from the dates given ({', '.join(dates[:4])})" if dates else ""
    return InputError(
        f"The {plugin!r} policy cannot work out {_WHAT.get(hook, 'its answer')}{given}: it would fall past "
        f"{date.max.isoformat()}, the last day there is. Check the dates: an expiry date of 9999-12-31 in Alma usually "
        f"means 'never'; give the account a real expiry date (alma-onelink user edit ID --set expiry_date=YYYY-MM-DD) "
        f"and try again (Python: {hook} raised {type(exc).__name__}: {exc})."
    )


def _guard(plugin: str, hook: str, function: Callable[..., Any], opts: dict[str, Any]) -> Callable[..., Any]:
    if opts.get("wrapper") or opts.get("hookwrapper"):
        if not inspect.isgeneratorfunction(function):
            # pluggy would say so, but it only ever sees the guard, which is a generator function.
            raise PolicyError(
                f"Plugin {plugin!r} marks {hook} as a wrapper, so it must be a generator function that "
                "yields exactly once; add the `yield` or drop wrapper=True.",
                plugin=plugin,
                hook=hook,
            )

        def guarded_wrapper(*args: Any) -> Generator[Any, Any, Any]:
            try:
                result = yield from function(*args)
            except (PolicyError, InputError):
                raise
            except Exception as exc:
                raise _failure(plugin, hook, exc, args) from exc
            if opts.get("wrapper"):
                return _checked_wrapper_result(plugin, hook, result)
            return result

        guard: Callable[..., Any] = guarded_wrapper
    else:

        def guarded(*args: Any) -> Any:
            try:
                result = function(*args)
            except (PolicyError, InputError):
                # InputError is a plugin's deliberate "these facts do not allow an answer".
                raise
            except Exception as exc:
                raise _failure(plugin, hook, exc, args) from exc
            return _checked(plugin, hook, result)

        guard = guarded

    functools.update_wrapper(guard, function)  # __wrapped__ lets pluggy read the real signature
    setattr(guard, f"{PROJECT_NAME}_impl", opts)
    return guard


class _GuardedPlugin:
    """Stands in for one plugin in the plugin manager; ``original`` is the plugin itself."""

    def __init__(self, original: object) -> None:
        self.original = original

    def __repr__(self) -> str:
        return f"<guarded {self.original!r}>"


def guarded_plugin(name: str, plugin: object, manager: pluggy.PluginManager) -> object:
    """A stand-in for ``plugin`` whose hook implementations are guarded; register it in its place."""
    stand_in = _GuardedPlugin(plugin)
    for attr in dir(plugin):
        opts = manager.parse_hookimpl_opts(plugin, attr)
        if opts is None:
            continue
        hook = opts.get("specname") or attr
        setattr(stand_in, attr, _guard(name, hook, getattr(plugin, attr), dict(opts)))
    return stand_in
