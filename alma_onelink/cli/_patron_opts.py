"""A patron's application as text: the flags of ``register``/``check``, the columns of ``batch``, and the `Patron`.

One table, `FIELDS`, names each fact once: its flag, its help, and the CSV headers that mean it.
`build_patron` turns text into a `Patron` and says which field is at fault (`FieldProblem`), so
``register`` names the flag and ``batch`` the column. Dates are ``YYYY-MM-DD`` or ``M/D/YYYY``
(US order, month first); a date that only reads day-first is refused, never guessed.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

import typer

from alma_onelink._text import visible
from alma_onelink.errors import InputError

from ._form_values import MULTILINE, parse_date, plain_text_problems, yes_no
from ._sdk import PRIOR_ROLES

if TYPE_CHECKING:
    from alma_onelink.policy import Patron, Policy

__all__ = [
    "FIELDS",
    "REQUIRED",
    "Field",
    "FieldProblem",
    "PatronForm",
    "build_patron",
    "complete_form",
    "parse_date",
    "plain_text_problems",
    "with_patron_flags",
]

Kind = Literal["text", "date", "flag"]


@dataclass(frozen=True, slots=True)
class Field:
    """One fact of the application: its name (a key of `PatronForm`), flag, help and CSV header aliases."""

    name: str
    help: str
    kind: Kind = "text"
    aliases: tuple[str, ...] = ()
    prompt: str = ""

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


FIELDS: Final[tuple[Field, ...]] = (
    Field(
        "onelink_id",
        "The unique ID OneLink shows after sign-in (Duke: 7 digits).",
        aliases=("onelink", "onelinkid", "uniqueid", "dukeuniqueid", "dukeid"),
        prompt="OneLink ID",
    ),
    Field("first_name", "First name.", aliases=("first", "firstname", "givenname", "forename"), prompt="First name"),
    Field("last_name", "Last name.", aliases=("last", "lastname", "surname", "familyname"), prompt="Last name"),
    Field("email", "Email address.", aliases=("email", "emailaddress", "mail")),
    Field("phone", "Phone number.", aliases=("phone", "phonenumber", "telephone", "tel")),
    Field(
        "address_line1",
        "Street address.",
        aliases=("address", "address1", "addressline1", "street", "line1"),
        prompt="Street address",
    ),
    Field("address_line2", "Second address line.", aliases=("address2", "addressline2", "line2")),
    Field("city", "City.", aliases=("city", "town"), prompt="City"),
    Field("state_province", "State or province.", aliases=("state", "province", "stateprovince")),
    Field("postal_code", "Postal code.", aliases=("zip", "zipcode", "postcode", "postalcode")),
    Field("country", "Country.", aliases=("country",)),
    Field(
        "affiliation",
        "Affiliation code of the policy (alma-onelink policies lists them).",
        aliases=("affiliation", "affiliationcode"),
        prompt="Affiliation",
    ),
    Field(
        "home_institution",
        "Home institution (TRLN, BorrowDirect borrowers).",
        aliases=("institution", "homeinstitution", "school", "university"),
        prompt="Home institution",
    ),
    Field(
        "graduated_on",
        "Graduation date (alumni), YYYY-MM-DD or M/D/YYYY.",
        "date",
        aliases=("graduated", "graduation", "graduationdate", "graduatedon"),
        prompt="Graduation date",
    ),
    Field(
        "left_on",
        "Date the person left (former affiliates), YYYY-MM-DD or M/D/YYYY.",
        "date",
        aliases=("left", "lefton", "leftdate", "dateleft"),
    ),
    Field(
        "prior_role",
        f"Former role: {', '.join(PRIOR_ROLES)}.",
        aliases=("role", "priorrole", "formerrole"),
        prompt=f"Former role ({', '.join(PRIOR_ROLES)})",
    ),
    Field(
        "donation_amount",
        "Gift in dollars (Friends of the Library).",
        aliases=("donation", "gift", "giftamount", "donationamount", "amount"),
        prompt="Gift amount (dollars)",
    ),
    Field(
        "donation_date",
        "Date of the gift, YYYY-MM-DD or M/D/YYYY.",
        "date",
        aliases=("giftdate", "donationdate", "donatedon", "givenon"),
        prompt="Date of the gift",
    ),
    Field(
        "has_active_netid",
        "The person still has an active NetID.",
        "flag",
        aliases=("netid", "activenetid", "hasactivenetid"),
    ),
    Field("notes", "A note for staff.", aliases=("note", "notes", "comment", "comments")),
)
"""Every fact of an application, in the order of the form."""

_BY_NAME: Final = {f.name: f for f in FIELDS}
_ADDRESS_FIELDS: Final = ("address_line1", "address_line2", "city", "state_province", "postal_code", "country")
REQUIRED: Final = ("onelink_id", "first_name", "last_name", "affiliation")
"""Facts every application needs; the affiliation may need more (`Affiliation.requires`)."""

# What an affiliation's ``requires`` names (Patron fields), as form fields.
_REQUIREMENT_FIELDS: Final = {
    "address": ("address_line1", "city"),
    "donation": ("donation_amount", "donation_date"),
}

PatronForm = dict[str, str | bool | None]
"""The application as typed: field name → text (``None`` or blank: not given); ``has_active_netid`` a bool."""


class FieldProblem(InputError):
    """What is wrong with an application, field by field: ``problems`` are ``(field or None, message)``.

    ``describe`` names each field as the person typed it (a flag, a CSV column).
    """

    def __init__(self, problems: list[tuple[str | None, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(message for _, message in problems))

    @property
    def fields(self) -> list[str]:
        return [name for name, _ in self.problems if name]

    def describe(self, name_of: Callable[[str], str]) -> str:
        """One line: each problem, prefixed with the field as ``name_of`` names it."""
        return "; ".join(f"{name_of(name)}: {message}" if name else message for name, message in self.problems)


def flag_of(name: str) -> str:
    """The flag of a form field: ``graduated_on`` → ``--graduated-on``."""
    return _BY_NAME[name].flag if name in _BY_NAME else "--" + name.replace("_", "-")


# --- from text to a Patron ----------------------------------------------------------------------------


def _text(form: Mapping[str, str | bool | None], name: str) -> str | None:
    value = form.get(name)
    if value is None or isinstance(value, bool):
        return None
    return value.strip() or None


def _problem_field(problem: str) -> str | None:
    """The form field a `Patron` problem line is about (it starts with the model's field name)."""
    head = re.match(r"[a-z_]+(\.[a-z_0-9]+)?", problem)
    if not head:
        return None
    name = head.group(0)
    nested = {
        "address.line1": "address_line1",
        "address.line2": "address_line2",
        "donation.amount": "donation_amount",
        "donation.given_on": "donation_date",
    }
    if name in nested:
        return nested[name]
    if name.startswith("address."):
        return name.removeprefix("address.")
    return name if name in _BY_NAME else None


def build_patron(form: Mapping[str, str | bool | None]) -> Patron:
    """The `Patron` the form describes. Raises `FieldProblem` naming every field at fault.

    A field holding a control character (`plain_text_problems`) is refused before anything else.
    """
    from alma_onelink.policy import Donation, Patron, PostalAddress  # noqa: PLC0415  (the help needs none of it)

    unsafe = plain_text_problems(form)
    if unsafe:
        raise FieldProblem(unsafe)
    form = {name: value.replace("\r\n", "\n") if name in MULTILINE and isinstance(value, str) else value
            for name, value in form.items()}  # fmt: skip
    problems: list[tuple[str | None, str]] = []
    dates: dict[str, date | None] = {}
    for field in FIELDS:
        if field.kind == "date":
            text = _text(form, field.name)
            try:
                dates[field.name] = parse_date(text) if text else None
            except ValueError as exc:
                problems.append((field.name, str(exc)))
    netid = form.get("has_active_netid")
    active_netid = False
    if isinstance(netid, bool):
        active_netid = netid
    elif isinstance(netid, str):
        try:
            active_netid = yes_no(netid)
        except ValueError as exc:
            problems.append(("has_active_netid", str(exc)))
    amount, given_on = _text(form, "donation_amount"), dates.get("donation_date")
    if amount and given_on is None and "donation_date" not in {name for name, _ in problems}:
        problems.append(("donation_date", "a gift needs its date too"))
    if given_on is not None and not amount:
        problems.append(("donation_amount", "a gift date needs the amount too"))
    if problems:
        raise FieldProblem(problems)

    address = {name: _text(form, name) for name in _ADDRESS_FIELDS}
    data: dict[str, Any] = {
        name: _text(form, name)
        for name in (
            "onelink_id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "affiliation",
            "home_institution",
            "prior_role",
            "notes",
        )
    }
    data = {name: value for name, value in data.items() if value is not None}
    data["graduated_on"], data["left_on"] = dates.get("graduated_on"), dates.get("left_on")
    data["has_active_netid"] = active_netid
    try:
        if any(address.values()):
            data["address"] = PostalAddress(
                line1=address["address_line1"] or "",
                line2=address["address_line2"],
                city=address["city"] or "",
                state_province=address["state_province"],
                postal_code=address["postal_code"],
                country=address["country"],
            )
        if amount and given_on is not None:
            data["donation"] = Donation(amount=amount, given_on=given_on)
        for name in REQUIRED:
            data.setdefault(name, "")
        return Patron(**data)
    except InputError as exc:
        lines = getattr(exc, "problems", None) or [str(exc)]
        prefix = {"PostalAddress": "address.", "Donation": "donation."}
        found: list[tuple[str | None, str]] = []
        for line in lines:
            text = str(line)
            for model, nested in prefix.items():  # a nested form raised on its own, before Patron saw it
                if str(exc).startswith(f"{model}:"):
                    text = nested + text
            field_name = _problem_field(text)
            if field_name is not None:  # the flag or column is named in front: the model's name is not said
                text = re.sub(r"^[a-z_]+(\.[a-z_0-9]+)?:? ", "", text)
            found.append((field_name, text))
        raise FieldProblem(found) from exc


def check_affiliation(policy: Policy, text: str) -> str:
    """The policy's affiliation code for ``text``. Raises `FieldProblem` listing the codes it offers."""
    from alma_onelink.policy.types import affiliation_code  # noqa: PLC0415  (the help needs none of it)

    code = affiliation_code(text)
    offered = [a.code for a in policy.affiliations()]
    if code not in offered:
        raise FieldProblem(
            [
                (
                    "affiliation",
                    f"{text!r} is not one the {policy.name} policy registers: use one of {', '.join(offered)}",
                )
            ]
        )
    return code


def requirement_flags(need: str) -> list[str]:
    """The flags that give what an affiliation requires: ``address`` → ``--address-line1``, ``--city``."""
    return [flag_of(name) for name in _REQUIREMENT_FIELDS.get(need, (need,))]


def missing_fields(policy: Policy, form: Mapping[str, str | bool | None]) -> list[str]:
    """The form fields still empty that the application needs (the affiliation's needs once it is known)."""
    missing = [name for name in REQUIRED if not _text(form, name)]
    code = _text(form, "affiliation")
    if code:
        from alma_onelink.policy.types import affiliation_code  # noqa: PLC0415  (the help needs none of it)

        try:
            needs = policy.affiliation(affiliation_code(code)).requires
        except InputError:
            needs = ()
        for need in needs:
            for name in _REQUIREMENT_FIELDS.get(need, (need,)):
                if name in _BY_NAME and not _text(form, name) and name not in missing:
                    missing.append(name)
    return missing


def complete_form(policy: Policy, form: PatronForm, ask: Callable[[Field, list[str] | None], str] | None) -> PatronForm:
    """The form with every needed field filled: asked with ``ask`` (a terminal), else `FieldProblem` naming the flags.

    ``ask(field, choices)`` returns the text typed; ``choices`` are the affiliation codes for ``affiliation``.
    """
    filled = dict(form)
    while missing := missing_fields(policy, filled):
        if ask is None:
            raise FieldProblem([(name, "is required") for name in missing])
        name = missing[0]
        choices = [a.code for a in policy.affiliations()] if name == "affiliation" else None
        answer = ask(_BY_NAME[name], choices).strip()
        if name == "affiliation" and answer:
            try:
                answer = check_affiliation(policy, answer)
            except FieldProblem as exc:
                typer.echo(f"  {visible(str(exc))}", err=True)
                continue
        filled[name] = answer or None
        if not answer:
            raise FieldProblem([(name, "is required")])
    return filled


# --- the flags ----------------------------------------------------------------------------------------------


def _parameter(field: Field) -> inspect.Parameter:
    panel = "Patron"
    if field.kind == "flag":
        annotation: Any = Annotated[bool, typer.Option(field.flag, help=field.help, rich_help_panel=panel)]
        default: Any = False
    else:
        metavar = "DATE" if field.kind == "date" else "TEXT"
        annotation = Annotated[
            str | None, typer.Option(field.flag, help=field.help, metavar=metavar, rich_help_panel=panel)
        ]
        default = None
    return inspect.Parameter(field.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


_PARAMETERS: Final = [_parameter(field) for field in FIELDS]


def with_patron_flags(func: Callable[..., int | None]) -> Callable[..., int | None]:
    """A command with a flag for every fact of the application; ``func`` gets them as ``form: PatronForm``.

    ``func``'s signature is ``(ctx, form, *, …its own options)``; typer sees the patron flags in place of ``form``.
    """
    signature = inspect.signature(func, eval_str=True)
    own = [p for p in signature.parameters.values() if p.name != "form"]
    leading = [p for p in own if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    trailing = [p for p in own if p.kind is inspect.Parameter.KEYWORD_ONLY]
    parameters = [*leading, *_PARAMETERS, *trailing]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> int | None:
        form: PatronForm = {field.name: kwargs.pop(field.name, None) for field in FIELDS}
        return func(*args, form=form, **kwargs)

    wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": signature.return_annotation}
    return wrapper
