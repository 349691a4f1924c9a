"""The Duke policy's settings: read from ``duke.toml``, overridable with ``ALMA_ONELINK_DUKE_CONFIG``.

The file named by ``ALMA_ONELINK_DUKE_CONFIG`` is merged over the shipped ``duke.toml`` (tables
merge, other values replace), so a site file holds only what it changes. Two rules make the merge
do what a site file means: an affiliation's ``expiry_on`` replaces the ``expiry_months`` of the file
below it and vice versa, and ``enabled = false`` drops an affiliation. Reading happens once, when
the policy is loaded; hooks never touch the file system.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, Final, Literal, Self
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, core_schema

from alma_onelink.policy import WELL_KNOWN_LINKS, Affiliation, PolicyError, PriorRole

__all__ = [
    "CONFIG_ENV",
    "how_to_set",
    "money",
    "span",
    "LINK_KEYS",
    "AffiliationConfig",
    "AlmaSettings",
    "DukeConfig",
    "DukeConfigError",
    "Institution",
    "MonthDay",
    "load_config",
]

CONFIG_ENV: Final = "ALMA_ONELINK_DUKE_CONFIG"
# "College" is not one: Cornell College, Columbia College and Brown College are other schools.
_STOPWORDS: Final = frozenset({"the", "university", "univ", "of", "at"})
LINK_KEYS: Final = WELL_KNOWN_LINKS
"""The link keys the settings accept (blank: not configured)."""


class DukeConfigError(PolicyError):
    """The Duke policy's configuration cannot be read or is invalid; the message names file and key."""

    def __init__(self, message: str) -> None:
        super().__init__(message, plugin="duke")


def normalize_institution(name: str) -> str:
    """A lenient key for an institution name: case, punctuation and words like "University" ignored."""
    # Dots and apostrophes join ("N.C." is "nc"); other punctuation separates words.
    text = re.sub("[.'\u2019]", "", name.casefold().replace("&", " and "))
    words = re.sub(r"[^0-9a-z]+", " ", text).split()
    return " ".join(word for word in words if word not in _STOPWORDS)


def money(amount: Decimal) -> str:
    """Dollars as staff write them: ``$1,250.00``."""
    return f"${amount:,.2f}"


def span(months: int) -> str:
    """A number of months in words: ``"a year"``, ``"2 years"``, ``"6 months"``."""
    if months == 12:
        return "a year"
    if months % 12 == 0:
        return f"{months // 12} years"
    return f"{months} month" if months == 1 else f"{months} months"


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value.strip()


Text = Annotated[str, AfterValidator(_not_blank)]
"""A code or name: surrounding spaces dropped, blank refused."""


def _link(value: str) -> str:
    text = value.strip()
    if not text:
        return text  # blank: not configured, left out of Policy.links()
    parts = urlsplit(text)
    if parts.scheme != "https" or not parts.netloc or any(ch.isspace() for ch in text):
        raise ValueError(f"must be an absolute https URL, like https://library.duke.edu/; got {value!r}")
    return text


def _purge_months(value: Any) -> Any:
    # TOML's true would silently read as 1 month; only false (no purge date) is a valid boolean.
    if value is True or (isinstance(value, int) and not isinstance(value, bool) and value < 0):
        raise ValueError("must be a number of months (0 or more), or false for no purge date")
    return value


PurgeMonths = Annotated[int | Literal[False], BeforeValidator(_purge_months)]
"""Months from expiry to the purge date, or ``false`` for no purge date."""


class MonthDay(str):
    """A day of the year written ``MM-DD``, like ``06-30``, with its ``month`` and ``day`` read once."""

    month: int
    day: int

    def __new__(cls, text: str) -> Self:
        try:
            day = date.fromisoformat(f"2001-{text}")  # a year without 29 February: the day must exist every year
        except ValueError:
            raise ValueError(f"must be a month and day written MM-DD, like 06-30; got {text!r}") from None
        self = super().__new__(cls, text)
        self.month, self.day = day.month, day.day
        return self

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(cls, core_schema.str_schema())


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Institution(_Settings):
    """A partner institution: its canonical name and other names staff may type."""

    name: Text
    aliases: tuple[Text, ...] = ()

    def spellings(self) -> set[str]:
        """Every normalized spelling that means this institution."""
        return {normalize_institution(n) for n in (self.name, *self.aliases)} - {""}


class AffiliationConfig(_Settings):
    """One affiliation: its codes, the rules it triggers, and its dates."""

    label: Text
    description: str = ""
    requires: tuple[str, ...] = ()  # checked by the Affiliation that DukeConfig.offered holds
    user_group: Text
    patron_type: Text | None = None
    patron_type_by_role: dict[PriorRole, Text] = Field(default_factory=dict)
    institutions: tuple[Institution, ...] = ()
    minimum_gift: Decimal | None = Field(default=None, ge=0)
    netid_wait_months: int | None = Field(default=None, ge=0)
    residence_city: Text | None = None
    expiry_from: Literal["today", "donation"] = "today"
    expiry_months: int | None = Field(default=None, ge=1)
    expiry_on: MonthDay | None = None
    purge_after_months: PurgeMonths | None = None

    @model_validator(mode="after")
    def _consistent(self) -> AffiliationConfig:
        if self.patron_type is None and not self.patron_type_by_role:
            raise ValueError("needs patron_type, or patron_type_by_role for each prior role it accepts")
        if self.expiry_on is not None and self.expiry_months is not None:
            raise ValueError("set expiry_months or expiry_on, not both")
        return self

    def institution(self, name: str | None) -> Institution | None:
        """The listed institution ``name`` means, matched leniently; ``None`` if it is not listed."""
        key = normalize_institution(name or "")
        return next((inst for inst in self.institutions if key and key in inst.spellings()), None)

    def partly_named(self, name: str | None) -> list[Institution]:
        """Listed institutions ``name`` is only part of, like "North Carolina" of UNC-Chapel Hill."""
        words = set(normalize_institution(name or "").split())
        if not words:
            return []
        return [
            inst for inst in self.institutions if any(words < set(spelling.split()) for spelling in inst.spellings())
        ]


class Codes(_Settings):
    """Code-table values the policy writes besides groups and statistic categories."""

    patron_type_category: Text = "PATRON_TYPE"
    unique_id_type: Text = "DUKE_UNIQUE_ID"
    note_type: Text = "LIBRARY"


class Rules(_Settings):
    """Defaults every affiliation falls back to."""

    expiry_months: int = Field(default=12, ge=1)
    purge_after_months: PurgeMonths = 12
    netid_wait_months: int = Field(default=12, ge=0)


class AlmaSettings(_Settings):
    """What the institution's Alma accepts, where Alma's documentation leaves it open."""

    search_with_or: bool = Field(default=False, strict=True)
    """Alma answers ``q=email~X OR last_name~B AND first_name~A`` with the users of both conditions."""


RuleName = Literal["expiry_months", "purge_after_months", "netid_wait_months"]
"""The settings an affiliation may set and ``[rules]`` gives a default for."""


class DukeConfig(_Settings):
    """The whole configuration: codes, default rules, what Alma accepts, links and the affiliations offered."""

    codes: Codes = Codes()
    rules: Rules = Rules()
    alma: AlmaSettings = AlmaSettings()
    links: dict[str, Annotated[str, AfterValidator(_link)]] = Field(default_factory=dict)
    affiliations: dict[str, AffiliationConfig]
    _offered: tuple[Affiliation, ...] = PrivateAttr(default=())
    _source: str | None = PrivateAttr(default=None)

    @field_validator("links")
    @classmethod
    def _known_links(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = [key for key in value if key not in LINK_KEYS]
        if unknown:
            raise ValueError(f"unknown link(s) {', '.join(unknown)}; the links are {', '.join(LINK_KEYS)}")
        return value

    @field_validator("affiliations")
    @classmethod
    def _some(cls, value: dict[str, AffiliationConfig]) -> dict[str, AffiliationConfig]:
        if not value:
            raise ValueError("must offer at least one affiliation")
        return value

    @model_validator(mode="after")
    def _offer(self) -> DukeConfig:
        # Affiliation checks the code (the form Patron reads staff's typing into) and ``requires``.
        offered = []
        for code, settings in self.affiliations.items():
            try:
                offered.append(
                    Affiliation(code, settings.label, settings.requires, settings.description, self.limits(settings))
                )
            except ValueError as exc:
                raise ValueError(f"affiliations.{code}: {exc}") from None
        self._offered = tuple(offered)
        return self

    def limits(self, settings: AffiliationConfig) -> dict[str, str]:
        """The affiliation's rules as staff quote them at the desk: label → text (``Affiliation.limits``)."""
        limits: dict[str, str] = {}
        if settings.institutions:
            limits["home institutions"] = ", ".join(inst.name for inst in settings.institutions)
        if settings.patron_type_by_role:
            limits["former roles"] = ", ".join(settings.patron_type_by_role)
        if settings.minimum_gift is not None:
            limits["minimum gift"] = money(settings.minimum_gift)
        if settings.residence_city is not None:
            limits["residence"] = f"{settings.residence_city} (staff check proof of residence)"
        if "graduated_on" in settings.requires:
            wait = self.rule(settings, "netid_wait_months")
            limits["wait after graduation"] = f"{span(int(wait))}, until the NetID is deactivated"
        from_gift = settings.expiry_from == "donation"
        start = "the gift date" if from_gift else "registration"
        if settings.expiry_on is not None:
            day = date(2001, settings.expiry_on.month, settings.expiry_on.day)
            term = f"until the first {day:%B} {day.day} after {start}"
        else:
            term = f"{span(int(self.rule(settings, 'expiry_months')))} from {start}"
        limits["membership term" if from_gift else "account term"] = term
        return limits

    @property
    def source(self) -> str | None:
        """The settings file merged over ``duke.toml`` (``None``: the shipped settings, or settings given in code)."""
        return self._source

    @property
    def offered(self) -> tuple[Affiliation, ...]:
        """The affiliations to offer staff, in the order of the settings."""
        return self._offered

    def rule(self, settings: AffiliationConfig | None, name: RuleName) -> int | Literal[False]:
        """The affiliation's ``name`` setting, else the ``[rules]`` default (``settings=None``: the default)."""
        value: int | Literal[False] | None = getattr(settings, name, None)
        return getattr(self.rules, name) if value is None else value


_EXPIRY_KEYS: Final = ("expiry_months", "expiry_on")


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _merge_settings(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` over ``base``; an affiliation's ``expiry_on`` or ``expiry_months`` replaces the other."""
    merged = _merge(base, override)
    below, above = base.get("affiliations"), override.get("affiliations")
    if not (isinstance(below, Mapping) and isinstance(above, Mapping)):
        return merged
    affiliations = dict(merged["affiliations"])
    for code, table in above.items():
        if not (isinstance(table, Mapping) and isinstance(below.get(code), Mapping)):
            continue
        given = [key for key in _EXPIRY_KEYS if key in table]
        if len(given) == 1:  # both in one file is still an error, reported by validation
            [replaced] = [key for key in _EXPIRY_KEYS if key not in given]
            affiliations[code] = {key: value for key, value in affiliations[code].items() if key != replaced}
    merged["affiliations"] = affiliations
    return merged


def _drop_disabled(data: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The settings without the affiliations marked ``enabled = false``."""
    affiliations = data.get("affiliations")
    if not isinstance(affiliations, Mapping):
        return dict(data)
    kept: dict[str, Any] = {}
    for code, table in affiliations.items():
        if not (isinstance(table, Mapping) and "enabled" in table):
            kept[code] = table
            continue
        enabled = table["enabled"]
        if not isinstance(enabled, bool):
            raise _invalid(where, f"affiliations.{code}.enabled: must be true or false; got {enabled!r}")
        if enabled:
            kept[code] = {key: value for key, value in table.items() if key != "enabled"}
    return {**data, "affiliations": kept}


def _invalid(where: str, problems: str) -> DukeConfigError:
    return DukeConfigError(f"The Duke policy settings in {where} are invalid: {problems}")


def _read(text: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DukeConfigError(f"{where} is not valid TOML: {exc}") from exc


def load_config(path: str | Path | None = None, *, environ: Mapping[str, str] | None = None) -> DukeConfig:
    """The shipped settings, with ``path`` (default: ``$ALMA_ONELINK_DUKE_CONFIG``) merged over them.

    Raises ``DukeConfigError`` if the override file is missing or unreadable, is not TOML, or
    holds an unknown key or a bad value (a blank code, a link that is not an absolute https URL, an
    unknown link); the message names the file and the key.
    """
    environ = os.environ if environ is None else environ
    data = _read(files("alma_onelink_duke").joinpath("duke.toml").read_text(encoding="utf-8"), "duke.toml")
    where = "duke.toml"
    chosen = path if path is not None else environ.get(CONFIG_ENV) or None
    if chosen is not None:
        override = Path(chosen).expanduser()
        try:
            text = override.read_text(encoding="utf-8")
        except OSError as exc:
            source = f"{CONFIG_ENV} points to" if path is None else "The Duke config"
            raise DukeConfigError(
                f"{source} {str(override)!r}, which cannot be read ({exc.strerror or exc}); "
                "fix the path or unset the variable to use the shipped duke.toml."
            ) from exc
        data = _merge_settings(data, _read(text, str(override)))
        where = f"{override} (merged over duke.toml)"
    data = _drop_disabled(data, where)
    try:
        config = DukeConfig.model_validate(data)
    except ValidationError as exc:
        raise _invalid(where, "; ".join(_problem(error) for error in exc.errors())) from exc
    config._source = str(Path(chosen).expanduser()) if chosen is not None else None
    return config


def how_to_set(config: DukeConfig, key: str) -> str:
    """How staff set the link ``key``: the setting, and the file to put it in."""
    setting = f'{key} = "https://…"'
    if config.source is not None:
        return f"set it under [links] in {config.source} (named by {CONFIG_ENV}): {setting}"
    return f"set it under [links] in a settings file of your own, {setting}, and point {CONFIG_ENV} at that file"


def _problem(error: ErrorDetails) -> str:
    key = ".".join(str(part) for part in error["loc"])  # none for a check of the whole file, which names its key
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{key}: {message}" if key else message
