"""Loading a policy (the defaults, an institution plugin, add-ons) and the typed ``Policy`` facade.

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
import zoneinfo
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, tzinfo
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Final, NamedTuple

import pluggy
from pydantic import BaseModel

from alma_onelink.errors import InputError
from alma_onelink.models import Address, Code, ContactInfo, Email, Phone, User, UserStatistic

from . import defaults, hookspecs
from ._guard import guarded_plugin
from .types import Affiliation, EligibilityIssues, Patron, PolicyError

__all__ = ["DEFAULT_POLICY", "PLUGIN_GROUP", "POLICY_GROUP", "Policy", "available_policies", "load_policy"]

POLICY_GROUP: Final = "alma_onelink.policies"
"""Entry-point group of institution policies; ``load_policy(name)`` picks one by name."""

PLUGIN_GROUP: Final = "alma_onelink.plugins"
"""Entry-point group of add-on plugins; every one is loaded with every policy."""

DEFAULT_POLICY: Final = "default"
"""The in-tree defaults alone; they are also part of every other policy."""


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


class Policy:
    """The loaded policy: typed answers to every question the registration procedure asks.

    Build one with ``load_policy(name)``. Each method calls a hook and returns its checked answer;
    a plugin that raises or answers with the wrong type becomes a ``PolicyError`` naming it.
    Patron facts that allow no answer raise ``InputError``. Methods never do I/O.
    """

    def __init__(self, name: str, manager: pluggy.PluginManager, plugins: dict[str, object]) -> None:
        self.name = name
        self._manager = manager
        self._plugins = plugins
        self._hook: Any = manager.hook

    def __repr__(self) -> str:
        return f"<Policy {self.name!r} plugins={self.plugin_names}>"

    @property
    def plugin_names(self) -> list[str]:
        """Registered plugins, the one asked first first (before ``tryfirst``/``trylast``)."""
        return list(reversed(self._plugins))

    def plugin(self, name: str) -> object:
        """The plugin object registered as ``name``. Raises ``PolicyError`` if there is none."""
        try:
            return self._plugins[name]
        except KeyError:
            raise PolicyError(f"No plugin {name!r} in this policy; plugins: {', '.join(self.plugin_names)}.") from None

    def implemented_hooks(self, plugin: str) -> set[str]:
        """The hooks the plugin registered as ``plugin`` implements. Raises ``PolicyError`` if there is none."""
        self.plugin(plugin)
        callers = self._manager.get_hookcallers(self._manager.get_plugin(plugin)) or []
        return {caller.name for caller in callers}

    @property
    def manager(self) -> pluggy.PluginManager:
        """The underlying pluggy plugin manager, for tracing and introspection."""
        return self._manager

    # --- questions ---------------------------------------------------------------------------

    def affiliations(self) -> list[Affiliation]:
        """Every affiliation the policy offers; the first plugin to offer a code wins."""
        seen: dict[str, Affiliation] = {}
        for offered in self._hook.alma_onelink_affiliations():
            for affiliation in offered:
                seen.setdefault(affiliation.code, affiliation)
        return list(seen.values())

    def affiliation(self, code: str) -> Affiliation:
        """The offered affiliation ``code``. Raises ``InputError`` listing the offered codes if unknown."""
        offered = self.affiliations()
        for affiliation in offered:
            if affiliation.code == code:
                return affiliation
        codes = ", ".join(a.code for a in offered)
        raise InputError(f"Affiliation {code!r} is not offered by the {self.name!r} policy; choose one of: {codes}.")

    def validate_onelink_id(self, onelink_id: str) -> str | None:
        """``None`` if the OneLink ID has the institution's format, else what is wrong with it."""
        if not isinstance(onelink_id, str):
            return f"the OneLink ID must be text, like '0123456'; got {type(onelink_id).__name__}"
        result: str | None = self._hook.alma_onelink_validate_onelink_id(onelink_id=onelink_id.strip())
        return result

    def eligibility(
        self, patron: Patron, *, existing: Sequence[User] = (), today: date | None = None
    ) -> EligibilityIssues:
        """What stands in the way of registering ``patron``, blocking issues first.

        ``existing`` are the patron's Alma accounts staff found. Issues come from every plugin; a
        code reported by several plugins is kept once, from the plugin asked first.
        """
        _require_patron(patron)
        accounts = tuple(existing)
        if not all(isinstance(user, User) for user in accounts):
            raise InputError("existing must be a list of User records, as returned by alma.users.get(...)")
        per_plugin = self._hook.alma_onelink_eligibility(
            patron=patron,
            existing=accounts,
            today=today or date.today(),
            affiliations=tuple(self.affiliations()),
            onelink_id_problem=self.validate_onelink_id(patron.onelink_id),
        )
        owner: dict[str, int] = {}
        issues = EligibilityIssues()
        for index, found in enumerate(per_plugin):
            for issue in found:
                if owner.setdefault(issue.code, index) == index:
                    issues.append(issue)
        issues.sort(key=lambda issue: not issue.is_blocking)
        return issues

    def patron_group(self, patron: Patron) -> Code:
        """The Alma user group for ``patron``. Raises ``InputError`` for an affiliation not offered."""
        self._require_offered(patron)
        group: Code = self._decide("alma_onelink_patron_group", patron=patron)
        return group

    def patron_type(self, patron: Patron) -> UserStatistic:
        """The "Patron type" statistic for ``patron``. Raises ``InputError`` for an affiliation not offered."""
        self._require_offered(patron)
        statistic: UserStatistic = self._decide("alma_onelink_patron_type", patron=patron)
        return statistic

    def expiry_date(self, patron: Patron, *, today: date | None = None) -> date:
        """When the account registered ``today`` for ``patron`` expires."""
        self._require_offered(patron)
        expiry: date = self._decide("alma_onelink_expiry_date", patron=patron, today=today or date.today())
        return expiry

    def purge_date(self, patron: Patron, *, expiry: date) -> date | None:
        """When the account may be purged, given its ``expiry``; ``None`` for no purge date."""
        self._require_offered(patron)
        return self._purge_date(patron, expiry)

    def build_user(self, patron: Patron, *, today: date | None = None) -> User:
        """The Alma record to create for ``patron``, after every plugin's last look.

        Raises ``InputError`` if the OneLink ID is invalid, the affiliation is not offered, or the
        policy's expiry date is not after ``today``. It does not check eligibility: call
        ``eligibility`` first.

        The record is ``PUBLIC``, ``INTERNAL`` and ``ACTIVE``, its primary id is the patron's
        OneLink ID, and it carries the policy's Patron type and no password. Plugins may change it
        in ``alma_onelink_prepare_user``; once every implementation (wrappers included) has run, a
        record that breaks one of these rules raises ``PolicyError`` naming the rule's field and
        the plugins that implement that hook.
        """
        _require_patron(patron)
        today = today or date.today()
        problem = self.validate_onelink_id(patron.onelink_id)
        if problem:
            raise InputError(f"Cannot build the record for {patron.full_name}: {problem}")
        self._require_offered(patron)
        expiry: date = self._decide("alma_onelink_expiry_date", patron=patron, today=today)
        if expiry <= today:
            raise InputError(
                f"The {self.name!r} policy gives {patron.full_name} an expiry date of {expiry.isoformat()}, "
                f"which is not after {today.isoformat()}; check the application's dates."
            )
        group = self._decide("alma_onelink_patron_group", patron=patron)
        patron_type: UserStatistic = self._decide("alma_onelink_patron_type", patron=patron)
        fields: dict[str, Any] = {
            **{field: Code(value=value) for field, value in _RECORD_CODES.items()},
            "primary_id": patron.onelink_id,
            "first_name": patron.first_name,
            "last_name": patron.last_name,
            "user_group": group,
            "expiry_date": expiry,
            "user_statistic": [patron_type.model_copy(deep=True)],  # a copy: the rules compare the two
        }
        purge = self._purge_date(patron, expiry)
        if purge is not None:
            fields["purge_date"] = purge
        contact = _contact_info(patron)
        if contact is not None:
            fields["contact_info"] = contact
        user = User(**fields)
        self._hook.alma_onelink_prepare_user(patron=patron, user=user, today=today)
        self._check_record_rules(user, patron, patron_type)
        return user

    def timezone(self) -> tzinfo | None:
        """The institution's time zone (``alma_onelink_timezone``), or ``None`` for the machine's local one.

        Raises ``PolicyError`` naming the plugin's answer if it is not a known IANA time zone name.
        """
        name = self._hook.alma_onelink_timezone()
        if name is None:
            return None
        try:
            return zoneinfo.ZoneInfo(str(name))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise PolicyError(
                f"The {self.name!r} policy names the time zone {name!r}, which is not an IANA time zone name "
                "like 'America/New_York'.",
                hook="alma_onelink_timezone",
            ) from exc

    def today(self, *, now: datetime | None = None) -> date:
        """Today's date in the institution's time zone (``now``, an aware datetime, instead of the clock)."""
        zone = self.timezone()
        moment = now if now is not None else datetime.now(UTC)
        return moment.astimezone(zone).date() if zone is not None else moment.astimezone().date()

    def links(self) -> dict[str, str]:
        """The pages staff and patrons need, by key (``onelink_registration``, ``my_account``…)."""
        merged: dict[str, str] = {}
        for found in reversed(self._hook.alma_onelink_links()):
            merged.update(found)  # reversed: the plugin asked first writes last, so it wins
        return merged

    # --- merging an old account into the OneLink account --------------------------------------

    def merge_segments(self, from_user: User, to_user: User) -> list[str]:
        """The segments a merge of ``from_user`` into ``to_user`` carries, in Alma's UI order.

        Raises ``PolicyError`` naming the plugin whose answer holds a name that is not a segment
        (see ``defaults.MERGE_SEGMENTS``).
        """
        hook = "alma_onelink_merge_segments"
        kwargs = {"from_user": _copy_user(from_user), "to_user": _copy_user(to_user)}
        answer: list[str] = self._decide(hook, **kwargs)
        unknown = [name for name in answer if name not in defaults.MERGE_SEGMENTS]
        if unknown:
            plugin = self._who_answered(hook, **kwargs)
            raise PolicyError(
                f"Plugin {plugin!r} answered {hook} with {', '.join(map(repr, unknown))}, which "
                f"{'is not a segment' if len(unknown) == 1 else 'are not segments'}; segments: "
                f"{', '.join(defaults.MERGE_SEGMENTS)}.",
                plugin=plugin,
                hook=hook,
            )
        return [name for name in defaults.MERGE_SEGMENTS if name in answer]

    def merge_vetoes(self, from_user: User, to_user: User) -> list[str]:
        """Every plugin's reason not to merge ``from_user`` into ``to_user`` (empty: no objection)."""
        answers: list[str] = self._hook.alma_onelink_merge_veto(
            from_user=_copy_user(from_user), to_user=_copy_user(to_user)
        )
        return [reason.strip() for reason in answers]

    def merge_note(self, from_user: User, to_user: User, *, today: date, staff: str | None = None) -> str:
        """The note a merge leaves on ``from_user`` when it marks it inactive, merged into ``to_user``."""
        note: str = self._decide(
            "alma_onelink_merge_note",
            from_user=_copy_user(from_user),
            to_user=_copy_user(to_user),
            today=today,
            staff=staff,
        )
        return note.strip()

    # --- helpers -----------------------------------------------------------------------------

    def _purge_date(self, patron: Patron, expiry: date) -> date | None:
        hook = "alma_onelink_purge_date"
        purge = self._decide(hook, patron=patron, expiry=expiry)
        if isinstance(purge, date) and purge < expiry:
            plugin = self._who_answered(hook, patron=patron, expiry=expiry)
            raise PolicyError(
                f"Plugin {plugin!r} answered {hook} with {purge.isoformat()}, before the expiry date "
                f"{expiry.isoformat()}; Alma would purge an account that is still valid.",
                plugin=plugin,
                hook=hook,
            )
        return purge if isinstance(purge, date) else None  # NO_PURGE_DATE (False): none at all

    def _check_record_rules(self, user: User, patron: Patron, patron_type: UserStatistic) -> None:
        # Checked once, after the hook: no wrapper, however early or late it runs, can undo this.
        hook = "alma_onelink_prepare_user"
        for rule in _RECORD_RULES:
            if not rule.holds(user, patron, patron_type):
                suspects = self._suspects(hook)
                raise PolicyError(
                    f"A plugin {rule.broken.format(user=user, patron=patron, patron_type=patron_type)}. "
                    f"Plugins that implement {hook}: {', '.join(suspects)}; {rule.fix} there.",
                    plugin=suspects[0] if len(suspects) == 1 else None,
                    hook=hook,
                )
        if "password" in user.model_fields_set:
            # A blank password some plugin wrote: leave the key out of the JSON sent to Alma.
            user.password = None
            user.model_fields_set.discard("password")

    def _suspects(self, hook: str) -> list[str]:
        # The plugins whose implementation of ``hook`` ran, asked first first; the in-tree defaults,
        # tested never to do this, only when nobody else implements it.
        implementations = reversed(getattr(self._hook, hook).get_hookimpls())
        names = list(dict.fromkeys(str(impl.plugin_name) for impl in implementations))
        others = [name for name in names if name != DEFAULT_POLICY]
        return others or names

    def _decide(self, hook: str, **kwargs: Any) -> Any:
        answer = getattr(self._hook, hook)(**kwargs)
        if answer is None:
            raise PolicyError(f"No plugin of the {self.name!r} policy answered {hook}.", hook=hook)
        # A copy the caller may change: a plugin may hand out the same object every time.
        return answer.model_copy(deep=True) if isinstance(answer, BaseModel) else answer

    def _who_answered(self, hook: str, **kwargs: Any) -> str | None:
        # pluggy does not say which plugin gave a firstresult answer; hooks are pure, so ask again.
        for impl in reversed(getattr(self._hook, hook).get_hookimpls()):
            if impl.wrapper or impl.hookwrapper:
                continue
            if impl.function(*(kwargs[name] for name in impl.argnames)) is not None:
                return str(impl.plugin_name)
        return None

    def _require_offered(self, patron: Patron) -> None:
        _require_patron(patron)
        self.affiliation(patron.affiliation)


_RECORD_CODES: Final = {"record_type": "PUBLIC", "account_type": "INTERNAL", "status": "ACTIVE"}
"""The codes of every record ``build_user`` returns: a public record of an internal, active account."""


class _RecordRule(NamedTuple):
    """A rule the record ``build_user`` returns follows, whatever plugins do."""

    holds: Callable[[User, Patron, UserStatistic], bool]  # (record, patron, the Patron type decided)
    broken: str  # "A plugin …", formatted with user, patron and patron_type; names the field
    fix: str  # "…; {fix} there."


def _has_code(field: str) -> Callable[[User, Patron, UserStatistic], bool]:
    def holds(user: User, patron: Patron, patron_type: UserStatistic) -> bool:
        code = getattr(user, field)
        return isinstance(code, Code) and code.matches(_RECORD_CODES[field])

    return holds


def _keeps_patron_type(user: User, patron: Patron, patron_type: UserStatistic) -> bool:
    kept = user.statistic(str(patron_type.category_type))
    return (
        kept is not None
        and kept.statistic_category is not None
        and kept.statistic_category.matches(str(patron_type.statistic_category))
    )


_RECORD_RULES: Final = (
    _RecordRule(
        lambda user, patron, patron_type: not user.password,
        "set a password on the new record for {patron.full_name}; OneLink accounts never have an Alma password "
        "(the patron signs in with OneLink)",
        "remove the password",
    ),
    _RecordRule(
        lambda user, patron, patron_type: user.primary_id == patron.onelink_id,
        "changed the new record's primary id to {user.primary_id!r}; it must be {patron.full_name}'s OneLink ID "
        "{patron.onelink_id!r}, which they sign in with",
        "leave primary_id alone",
    ),
    *(
        _RecordRule(
            _has_code(field),
            f"changed the new record's {field} to {{user.{field}}}; a OneLink account's {field} is {value}",
            f"leave {field} alone",
        )
        for field, value in _RECORD_CODES.items()
    ),
    _RecordRule(
        _keeps_patron_type,
        "removed or changed the Patron type in the new record's user_statistic; the policy decided "
        "{patron_type.category_type} {patron_type.statistic_category}",
        "keep that statistic (add others beside it)",
    ),
)


def _copy_user(user: User) -> User:
    # Hooks are pure, yet a plugin that changes the record it is shown must not change the merge.
    if not isinstance(user, User):
        raise InputError(f"expected a User record, as returned by alma.users.get(...); got {type(user).__name__}")
    return user.model_copy(deep=True)


def _require_patron(patron: object) -> None:
    if not isinstance(patron, Patron):
        raise InputError(f"expected a Patron, got {type(patron).__name__}; build one with Patron(onelink_id=..., ...)")


def _contact_info(patron: Patron) -> ContactInfo | None:
    emails = (
        [Email(email_address=patron.email, email_type=[Code(value="personal")], preferred=True)] if patron.email else []
    )
    phones = [Phone(phone_number=patron.phone, phone_type=[Code(value="home")], preferred=True)] if patron.phone else []
    addresses = []
    if patron.address is not None:
        given = patron.address.model_dump(exclude_none=True)
        # Only the fields given: a None written out would reach Alma as an explicit null.
        addresses.append(Address(**given, address_type=[Code(value="home")], preferred=True))
    # Only the segments given, for the same reason.
    given = {"email": emails, "phone": phones, "address": addresses}
    present = {key: value for key, value in given.items() if value}
    return ContactInfo(**present) if present else None
