"""What policies talk about: the patron a staff member registers, affiliations, eligibility issues.

Everything here is plain data with validation; nothing does I/O. The application itself
(``Patron``, ``Donation``, ``PostalAddress``) lives in ``_application`` and is re-exported here.
"""

from __future__ import annotations

import calendar
import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Final, Literal, NamedTuple, get_args

from alma_onelink.errors import AlmaError
from alma_onelink.models import User, UserIdentifier

from ._application import PRIOR_ROLES, Donation, Patron, PostalAddress, PriorRole, affiliation_code

__all__ = [
    "LINK_DESCRIPTIONS",
    "LINK_MY_ACCOUNT",
    "LINK_ONELINK_REGISTRATION",
    "LINK_ONELINK_SIGN_IN",
    "LINK_SELF_SERVICE",
    "NO_PURGE_DATE",
    "PRIOR_ROLES",
    "REGISTRATION_OUTCOMES",
    "WELL_KNOWN_LINKS",
    "Affiliation",
    "Donation",
    "EligibilityIssue",
    "EligibilityIssues",
    "OneLinkIdClash",
    "Patron",
    "PolicyError",
    "PostalAddress",
    "PriorRole",
    "RegistrationOutcome",
    "Severity",
    "add_months",
    "affiliation_code",
    "blocking",
    "onelink_id_clash",
]

Severity = Literal["block", "warn"]
"""``"block"``: do not create the account; ``"warn"``: staff should read this, then may proceed."""

RegistrationOutcome = Literal[
    "created", "needs_merge", "renewed", "already_registered", "blocked", "failed", "deferred"
]
"""How a registration can end (the values of ``alma_onelink.onelink.Outcome``)."""
REGISTRATION_OUTCOMES: Final[tuple[str, ...]] = get_args(RegistrationOutcome)
"""Every `RegistrationOutcome`, in order: the values ``EligibilityIssue.applies_to`` may name."""

NO_PURGE_DATE: Final = False
"""Return this from ``alma_onelink_purge_date`` to say "no purge date" (``None`` means "ask the next plugin")."""

# Well-known keys of ``Policy.links()``; a policy may add others.
LINK_ONELINK_REGISTRATION: Final = "onelink_registration"
"""The key of the OneLink page where a patron creates a OneLink account or checks for one."""
LINK_ONELINK_SIGN_IN: Final = "onelink_sign_in"
"""The key of the OneLink sign-in test page, which shows the patron's unique ID."""
LINK_SELF_SERVICE: Final = "self_service"
"""The key of the self-service page where a patron resets their OneLink password."""
LINK_MY_ACCOUNT: Final = "my_account"
"""The key of the library's My Account page, where the patron tests their account (the procedure's last step)."""
WELL_KNOWN_LINKS: Final = (LINK_ONELINK_REGISTRATION, LINK_ONELINK_SIGN_IN, LINK_SELF_SERVICE, LINK_MY_ACCOUNT)
"""The well-known link keys, in the order staff meet the pages."""

LINK_DESCRIPTIONS: Final[dict[str, str]] = {
    LINK_ONELINK_REGISTRATION: "the OneLink page where a patron creates a OneLink account or checks for one",
    LINK_ONELINK_SIGN_IN: "the OneLink sign-in test page, which shows the patron's unique ID",
    LINK_SELF_SERVICE: "the self-service page where a patron resets their OneLink password",
    LINK_MY_ACCOUNT: "the library's My Account page, where the patron signs in with OneLink to test their account",
}
"""What each well-known link is, in words staff read (``Policy.unset_links`` starts from these)."""


class PolicyError(AlmaError):
    """A policy could not be loaded, or a plugin broke its contract (raised, or returned a wrong type).

    ``plugin`` and ``hook`` name the culprit where one is known.
    """

    def __init__(self, message: str, *, plugin: str | None = None, hook: str | None = None) -> None:
        self.plugin = plugin
        self.hook = hook
        super().__init__(message)


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` calendar months; the 31st becomes the month's last day if needed."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


# --- what policies answer ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Affiliation:
    """An affiliation a policy offers: its code, a label staff read, and the patron facts it needs.

    ``code`` is written as ``Patron`` reads what staff type (``affiliation_code``): lower case,
    ``_`` between words, like ``"former_affiliate"``. ``requires`` names ``Patron`` fields that must
    be filled in for this affiliation (for example ``("home_institution",)``). ``limits`` are the
    affiliation's rules staff quote at the desk, label → text in the order given, like
    ``{"minimum gift": "$100.00", "membership term": "1 year from the gift date"}`` (read-only; empty
    by default). Raises ``ValueError`` for a blank code or label, a code in another form (the message
    gives the one to use), an unknown field, or a limit whose label or text is blank.
    """

    code: str
    label: str
    requires: Sequence[str] = ()
    description: str = ""
    limits: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not self.code.strip() or not self.label.strip():
            raise ValueError(f"an Affiliation needs a code and a label; got code={self.code!r}")
        chosen = affiliation_code(self.code)
        if self.code != chosen:
            raise ValueError(
                f"the affiliation code {self.code!r} could never be chosen (Patron reads what staff type as "
                f"{chosen!r}): write it as {chosen!r}"
            )
        object.__setattr__(self, "requires", tuple(self.requires))
        unknown = [name for name in self.requires if name not in Patron.model_fields]
        if unknown:
            raise ValueError(
                f"affiliation {self.code!r} requires unknown Patron field(s) {', '.join(unknown)}; "
                f"choose from {', '.join(Patron.model_fields)}"
            )
        limits = dict(self.limits)
        if not all(isinstance(k, str) and k.strip() and isinstance(v, str) and v.strip() for k, v in limits.items()):
            raise ValueError(
                f"affiliation {self.code!r}: each limit is a label and a text, both non-blank; got {limits!r}"
            )
        object.__setattr__(self, "limits", types.MappingProxyType(limits))

    def missing(self, patron: Patron) -> list[str]:
        """The required facts this patron has not given."""
        return [name for name in self.requires if getattr(patron, name) in (None, "", {})]


@dataclass(frozen=True, slots=True)
class EligibilityIssue:
    """Something staff must know before creating the account.

    ``severity`` ``"block"`` stops the registration; ``"warn"`` asks staff to read and decide.
    ``message`` says what is wrong in words a staff member can act on; ``hint`` says what to do.
    ``source`` is the plugin that raised it (filled in when a policy collects issues).
    ``applies_to`` names the registration outcomes the issue concerns (values of
    ``REGISTRATION_OUTCOMES``, like ``("needs_merge",)``); ``None``, the default, means every outcome.
    A registration keeps every issue, and shows staff only those that concern its outcome: a warning
    that says what the workflow will write is of no use once the registration is blocked.
    Raises ``ValueError`` for an unknown severity or outcome, or a blank code or message.
    """

    code: str
    message: str
    severity: Severity
    hint: str | None = None
    source: str | None = field(default=None, compare=False)
    applies_to: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.severity not in ("block", "warn"):
            raise ValueError(f'severity must be "block" or "warn"; got {self.severity!r}')
        if not self.code.strip() or not self.message.strip():
            raise ValueError("an EligibilityIssue needs a code and a message")
        if self.applies_to is not None:
            if isinstance(self.applies_to, str):
                raise ValueError(f"applies_to is a tuple of outcomes, like ({self.applies_to!r},); got a string")
            outcomes = tuple(self.applies_to)
            unknown = [outcome for outcome in outcomes if outcome not in REGISTRATION_OUTCOMES]
            if unknown:
                raise ValueError(
                    f"applies_to holds {', '.join(map(repr, unknown))}, not an outcome; outcomes: "
                    f"{', '.join(REGISTRATION_OUTCOMES)}"
                )
            object.__setattr__(self, "applies_to", outcomes)

    @classmethod
    def block(
        cls, code: str, message: str, hint: str | None = None, *, applies_to: Iterable[str] | None = None
    ) -> EligibilityIssue:
        """An issue that stops the registration."""
        outcomes = tuple(applies_to) if applies_to is not None else None
        return cls(code=code, message=message, severity="block", hint=hint, applies_to=outcomes)

    @classmethod
    def warn(
        cls, code: str, message: str, hint: str | None = None, *, applies_to: Iterable[str] | None = None
    ) -> EligibilityIssue:
        """An issue staff should read before they proceed."""
        outcomes = tuple(applies_to) if applies_to is not None else None
        return cls(code=code, message=message, severity="warn", hint=hint, applies_to=outcomes)

    @property
    def is_blocking(self) -> bool:
        """Whether this issue stops the registration."""
        return self.severity == "block"

    def concerns(self, outcome: str) -> bool:
        """Whether staff reading a registration that ended in ``outcome`` (like ``"blocked"``) need this issue."""
        return self.applies_to is None or str(outcome) in self.applies_to

    def __str__(self) -> str:
        hint = f" (hint: {self.hint})" if self.hint else ""
        return f"[{self.severity}] {self.code}: {self.message}{hint}"


def blocking(issues: Iterable[EligibilityIssue]) -> list[EligibilityIssue]:
    """The issues that stop the registration."""
    return [issue for issue in issues if issue.is_blocking]


class EligibilityIssues(list[EligibilityIssue]):
    """The issues a policy found: a plain list, plus ``.blocking``, ``.warnings`` and ``.ok``."""

    @property
    def blocking(self) -> list[EligibilityIssue]:
        """The issues that stop the registration."""
        return blocking(self)

    @property
    def warnings(self) -> list[EligibilityIssue]:
        """The issues staff should read before proceeding."""
        return [issue for issue in self if not issue.is_blocking]

    @property
    def ok(self) -> bool:
        """Whether nothing blocks the registration."""
        return not self.blocking


class OneLinkIdClash(NamedTuple):
    """How an existing Alma account already holds a OneLink ID (see ``onelink_id_clash``)."""

    kind: Literal["account_exists", "identifier_in_use"]
    """``"account_exists"``: it is the account's primary id; ``"identifier_in_use"``: one of its identifiers."""
    identifiers: tuple[UserIdentifier, ...] = ()
    """The account's identifiers whose value is the OneLink ID (none for ``"account_exists"``)."""


def onelink_id_clash(user: User, onelink_id: str) -> OneLinkIdClash | None:
    """How ``user`` already holds ``onelink_id``, compared as Alma does (ignoring case); ``None`` if not at all.

    Alma keeps primary ids and identifier values unique across users, so it refuses a new account
    whose primary id is ``onelink_id`` while ``user`` holds it: as its primary id
    (``"account_exists"``: the patron already has their OneLink account) or as an identifier
    (``"identifier_in_use"``: remove it, create the account, then merge ``user`` into it).
    """
    wanted = onelink_id.casefold()
    if user.primary_id and user.primary_id.casefold() == wanted:
        return OneLinkIdClash("account_exists")
    held = tuple(ident for ident in user.user_identifier if ident.value and ident.value.casefold() == wanted)
    return OneLinkIdClash("identifier_in_use", held) if held else None
