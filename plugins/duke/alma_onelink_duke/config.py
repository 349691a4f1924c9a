"""The Duke policy's settings: read from ``duke.toml``, overridable with ``ALMA_ONELINK_DUKE_CONFIG``.

The file named by ``ALMA_ONELINK_DUKE_CONFIG`` is merged over the shipped ``duke.toml`` (tables
merge, other values replace), so a site file holds only what it changes. Reading happens once,
when the policy is loaded; hooks never touch the file system.
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
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from alma_onelink.policy import Patron, PolicyError, PriorRole

__all__ = [
    "CONFIG_ENV",
    "AffiliationConfig",
    "DukeConfig",
    "DukeConfigError",
    "Institution",
    "load_config",
    "normalize_institution",
]

CONFIG_ENV: Final = "ALMA_ONELINK_DUKE_CONFIG"
_STOPWORDS: Final = frozenset({"the", "university", "of", "at", "college"})


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


def _purge_months(value: Any) -> Any:
    # TOML's true would silently read as 1 month; only false (no purge date) is a valid boolean.
    if value is True or (isinstance(value, int) and not isinstance(value, bool) and value < 0):
        raise ValueError("must be a number of months (0 or more), or false for no purge date")
    return value


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Institution(_Settings):
    """A partner institution: its canonical name and other names staff may type."""

    name: str
    aliases: tuple[str, ...] = ()

    def spellings(self) -> set[str]:
        """Every normalized spelling that means this institution."""
        return {normalize_institution(n) for n in (self.name, *self.aliases)} - {""}


class AffiliationConfig(_Settings):
    """One affiliation: its codes, the rules it triggers, and its dates."""

    label: str
    description: str = ""
    requires: tuple[str, ...] = ()
    user_group: str
    patron_type: str | None = None
    patron_type_by_role: dict[PriorRole, str] = Field(default_factory=dict)
    institutions: tuple[Institution, ...] = ()
    minimum_gift: Decimal | None = Field(default=None, ge=0)
    netid_wait_months: int | None = Field(default=None, ge=0)
    expiry_from: Literal["today", "donation"] = "today"
    expiry_months: int | None = Field(default=None, ge=1)
    expiry_on: str | None = None
    purge_after_months: int | Literal[False] | None = None

    @field_validator("label", "user_group")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("requires")
    @classmethod
    def _patron_fields(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [name for name in value if name not in Patron.model_fields]
        if unknown:
            raise ValueError(f"unknown Patron field(s) {', '.join(unknown)}; use {', '.join(Patron.model_fields)}")
        return value

    @field_validator("expiry_on")
    @classmethod
    def _month_day(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            date.fromisoformat(f"2001-{value}")  # a year without 29 February: the date must exist every year
        except ValueError:
            raise ValueError(f"must be a month and day written MM-DD, like 06-30; got {value!r}") from None
        return value

    @field_validator("purge_after_months", mode="before")
    @classmethod
    def _purge(cls, value: Any) -> Any:
        return _purge_months(value)

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


class Codes(_Settings):
    """Code-table values the policy writes besides groups and statistic categories."""

    patron_type_category: str = "PATRON_TYPE"
    unique_id_type: str = "DUKE_UNIQUE_ID"
    note_type: str = "LIBRARY"


class Rules(_Settings):
    """Defaults every affiliation falls back to."""

    expiry_months: int = Field(default=12, ge=1)
    purge_after_months: int | Literal[False] = 12

    @field_validator("purge_after_months", mode="before")
    @classmethod
    def _purge(cls, value: Any) -> Any:
        return _purge_months(value)


class DukeConfig(_Settings):
    """The whole configuration: codes, default rules, links and the affiliations offered."""

    codes: Codes = Codes()
    rules: Rules = Rules()
    links: dict[str, str] = Field(default_factory=dict)
    affiliations: dict[str, AffiliationConfig]

    @field_validator("affiliations")
    @classmethod
    def _some(cls, value: dict[str, AffiliationConfig]) -> dict[str, AffiliationConfig]:
        if not value:
            raise ValueError("must offer at least one affiliation")
        return value


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read(text: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DukeConfigError(f"{where} is not valid TOML: {exc}") from exc


def load_config(path: str | Path | None = None, *, environ: Mapping[str, str] | None = None) -> DukeConfig:
    """The shipped settings, with ``path`` (default: ``$ALMA_ONELINK_DUKE_CONFIG``) merged over them.

    Raises ``DukeConfigError`` if the override file is missing or unreadable, is not TOML, or
    holds an unknown key or a bad value; the message names the file and the key.
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
        data = _merge(data, _read(text, str(override)))
        where = f"{override} (merged over duke.toml)"
    try:
        return DukeConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {str(err['msg']).removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise DukeConfigError(f"The Duke policy settings in {where} are invalid: {problems}") from exc
