"""The typed ``Policy`` facade: every question the registration procedure asks, answered by the plugins.

``load_policy`` (in ``manager``) builds one; each method calls a hook and returns its checked answer.
"""

from __future__ import annotations

import dataclasses
import zoneinfo
from collections.abc import Sequence
from datetime import UTC, date, datetime, tzinfo
from typing import Any, Final

import pluggy
from pydantic import BaseModel

from alma_onelink.errors import InputError
from alma_onelink.models import Code, User, UserStatistic

from . import defaults
from ._record import RECORD_CODES, RECORD_RULES, contact_info
from .types import (
    LINK_DESCRIPTIONS,
    WELL_KNOWN_LINKS,
    Affiliation,
    EligibilityIssue,
    EligibilityIssues,
    Patron,
    PolicyError,
)

__all__ = ["DEFAULT_POLICY", "EXPIRY_NOT_AFTER_TODAY", "Policy"]

DEFAULT_POLICY: Final = "default"
"""The in-tree defaults alone; they are also part of every other policy."""

EXPIRY_NOT_AFTER_TODAY: Final = "expiry_not_after_today"
"""The code of the blocking issue ``Policy.eligibility`` adds when the policy's expiry date is not after today."""


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
        raise InputError(f"Affiliation {code!r} is not one the {self.name} policy registers: use one of {codes}.")

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
        code reported by several plugins is kept once, from the plugin asked first. When no plugin
        blocks, an expiry date the policy gives that is not after ``today`` blocks as
        ``expiry_not_after_today`` (its ``source`` names the plugin that answered): a policy answer
        that makes no sense today is a reason not to register, never an exception. Raises
        ``InputError`` when ``existing`` holds something other than ``User`` records, or when the
        patron's facts allow the policy no expiry date.
        """
        _require_patron(patron)
        accounts = tuple(existing)
        if not all(isinstance(user, User) for user in accounts):
            raise InputError("existing must be a list of User records, as returned by alma.users.get(...)")
        day = today or date.today()
        offered = tuple(self.affiliations())
        per_plugin = self._hook.alma_onelink_eligibility(
            patron=patron,
            existing=accounts,
            today=day,
            affiliations=offered,
            onelink_id_problem=self.validate_onelink_id(patron.onelink_id),
        )
        owner: dict[str, int] = {}
        issues = EligibilityIssues()
        for index, found in enumerate(per_plugin):
            for issue in found:
                if owner.setdefault(issue.code, index) == index:
                    issues.append(issue)
        chosen = next((a for a in offered if a.code == patron.affiliation), None)
        if not issues.blocking and chosen is not None and not chosen.missing(patron):
            # The policy's own checks come first, in its own words (Duke: membership_lapsed); this is
            # the net under every plugin: no account is created to expire before it is used.
            issues += self._expiry_issues(patron, day)
        issues.sort(key=lambda issue: not issue.is_blocking)
        return issues

    def _expiry_issues(self, patron: Patron, today: date) -> list[EligibilityIssue]:
        hook = "alma_onelink_expiry_date"
        expiry: date = self._decide(hook, patron=patron, today=today)
        if expiry > today:
            return []
        plugin = self._who_answered(hook, patron=patron, today=today)
        issue = EligibilityIssue.block(
            EXPIRY_NOT_AFTER_TODAY,
            f"The {self.name!r} policy gives {patron.full_name} an account that would expire on "
            f"{expiry.isoformat()}, which is not after the registration day, {today.isoformat()}: under its rules, "
            "the application's dates give no account today.",
            "Check the dates on the application with the patron and correct any that are wrong; if they are "
            "right, the patron does not qualify today (a newer fact, such as a new gift, may change that).",
        )
        return [dataclasses.replace(issue, source=plugin)]

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
        ``eligibility`` first, which reports each of these as a blocking issue.

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
            # eligibility() blocks this first (expiry_not_after_today); here only for a caller who skipped it.
            raise InputError(
                f"The {self.name!r} policy gives {patron.full_name} an expiry date of {expiry.isoformat()}, "
                f"which is not after {today.isoformat()}: no account can be built today. Checking eligibility says "
                "why, as expiry_not_after_today or the policy's own reason: `alma-onelink check` "
                "(Python: Policy.eligibility)."
            )
        group = self._decide("alma_onelink_patron_group", patron=patron)
        patron_type: UserStatistic = self._decide("alma_onelink_patron_type", patron=patron)
        fields: dict[str, Any] = {
            **{field: Code(value=value) for field, value in RECORD_CODES.items()},
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
        contact = contact_info(patron)
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

    @property
    def search_with_or(self) -> bool:
        """Whether the institution's Alma accepts ``OR`` in a user search (``alma_onelink_search_with_or``).

        With it, the registration workflow looks for older accounts by email and by name in one
        search instead of two; the defaults say no.
        """
        answer: bool = self._decide("alma_onelink_search_with_or")
        return answer

    def links(self) -> dict[str, str]:
        """The pages staff and patrons need, by key (``onelink_registration``, ``my_account``…).

        A link the policy leaves unset is absent (see ``unset_links``), never blank.
        """
        merged: dict[str, str] = {}
        for found in reversed(self._hook.alma_onelink_links()):
            # reversed: the plugin asked first writes last, so it wins; a blank URL gives nothing
            merged.update({key: url for key, url in found.items() if url.strip()})
        return merged

    def unset_links(self) -> dict[str, str]:
        """The links the policy leaves unset: key → a sentence saying what the page is and how to set it.

        Every well-known key (``WELL_KNOWN_LINKS``) that ``links()`` lacks is here, and every key a
        plugin reports through ``alma_onelink_unset_links``; the plugin asked first words it. Empty
        when every link is set. Keys come in the order of ``WELL_KNOWN_LINKS``, then the others. A key no
        plugin explains reads "<what the page is>: not set; …" in staff's words: a plugin sets it by giving
        the key from its ``alma_onelink_links`` hook.
        """
        given = self.links()
        explained: dict[str, str] = {}
        for found in reversed(self._hook.alma_onelink_unset_links()):
            explained.update(found)
        keys = [*WELL_KNOWN_LINKS, *(key for key in explained if key not in WELL_KNOWN_LINKS)]
        unset: dict[str, str] = {}
        for key in keys:
            if key in given:
                continue
            what = LINK_DESCRIPTIONS.get(key, f"the {key.replace('_', ' ')} page")
            unset[key] = explained.get(key) or (
                f"{what[0].upper()}{what[1:]}: not set; the {self.name} policy gives no address for it, so the "
                "lines for the patron leave it out."
            )
        return unset

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
        for rule in RECORD_RULES:
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


def _copy_user(user: User) -> User:
    # Hooks are pure, yet a plugin that changes the record it is shown must not change the merge.
    if not isinstance(user, User):
        raise InputError(f"expected a User record, as returned by alma.users.get(...); got {type(user).__name__}")
    return user.model_copy(deep=True)


def _require_patron(patron: object) -> None:
    if not isinstance(patron, Patron):
        raise InputError(f"expected a Patron, got {type(patron).__name__}; build one with Patron(onelink_id=..., ...)")
