"""`register_patron` and its async twin: the OneLink procedure for one patron, journaled.

The procedure itself lives in ``_register`` (written once, no I/O); these functions pick the
defaults, run it with the sync or async driver and name the journal in the result.
"""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from alma_onelink._text import describe, unsafe_characters, visible
from alma_onelink.engine import Journal, JournalLike, Trace, check_staff, check_today, drive, drive_async, journal_for
from alma_onelink.engine._inputs import check_client
from alma_onelink.errors import InputError
from alma_onelink.policy import Patron, Policy

from ._register import registration
from .result import RegistrationResult

if TYPE_CHECKING:
    from alma_onelink import AlmaClient, AsyncAlmaClient

__all__ = ["aregister_patron", "check_plain_text", "prepare", "register_patron"]


def prepare(
    alma: object, policy: Policy, today: date | None, staff: str | None, *, call: str
) -> tuple[date, str | None]:
    """The registration day and staff name, checked, with the client and the policy, for the public ``call``.

    Raises ``InputError`` for a bad argument: a client of the wrong kind (an `AsyncAlmaClient` for
    a ``call`` whose name starts with ``a``, else an `AlmaClient`), not a `Policy`, a bad ``today``
    or ``staff``.
    """
    check_client(alma, asynchronous=call.startswith("a"), call=call)
    if not isinstance(policy, Policy):
        raise InputError(f"policy must be a Policy from load_policy(...); got {type(policy).__name__}")
    day = check_today(today)
    return (day if day is not None else policy.today()), check_staff(staff)


_MULTILINE = ("notes",)
"""Fields of a `Patron` whose text may hold line breaks and tabs."""


def check_plain_text(patron: Patron) -> None:
    """Raises ``InputError`` naming each text of ``patron`` that holds a character no Alma record should.

    Refused: control characters (ESC and the terminal sequences it starts; tabs and line breaks too,
    except in ``notes``), DEL, C1 controls, Unicode direction controls (which reorder what staff
    read), line and paragraph separators, and lone surrogates (bytes that were not UTF-8). The
    names are checked by `Patron` itself; this covers every other text it carries, ``extra`` too.
    A value that is not a `Patron` is left for the procedure to refuse.
    """
    if not isinstance(patron, Patron):
        return
    # The policy checks the OneLink ID itself, in its own words.
    texts: dict[str, object] = {
        name: getattr(patron, name) for name in type(patron).model_fields if name != "onelink_id"
    }
    if patron.address is not None:
        texts.update({f"address.{name}": getattr(patron.address, name) for name in type(patron.address).model_fields})
    texts.update({f"extra[{key!r}]": value for key, value in patron.extra.items()})
    problems = []
    for name, value in texts.items():
        if isinstance(value, str):
            found = unsafe_characters(value, allow="\n\t" if name in _MULTILINE else "")
            if found:
                problems.append(f"{name} holds {describe(found)}")
    if problems:
        raise InputError(
            f"Cannot register {visible(patron.full_name)}: {'; '.join(problems)}. Type plain text only: nothing "
            "like this is written to Alma."
        )


def register_patron(
    alma: AlmaClient,
    policy: Policy,
    patron: Patron,
    *,
    dry_run: bool = False,
    today: date | None = None,
    journal: JournalLike = None,
    staff: str | None = None,
) -> RegistrationResult:
    """Register ``patron`` in Alma following the OneLink procedure; the result says what was done and why.

    Steps: check the application → find the patron's accounts (by OneLink ID as primary id or any
    identifier, by email, by name) → eligibility (``policy``) → create, renew, report already
    registered, or move the OneLink ID off an old account and create (``needs_merge``) → read the
    account back as a login would → what to tell the patron. Every write is journaled ahead in
    ``journal`` (default: ``$ALMA_ONELINK_JOURNAL``, else ``journal.jsonl`` in the per-user data
    directory; ``result.journal_path`` names it). A write whose answer is lost is read back, so the
    outcome is true: ``created`` only if the account exists, ``failed`` only if nothing is left
    half-written (an identifier moved off an old account is put back when the create fails).

    Before deciding, the writes of this OneLink ID that an earlier run left without a journal line
    (it was killed between a write and its completion) are settled by reading Alma, so a rerun
    answers as that run would have: ``created``, or ``needs_merge`` naming the old account the
    OneLink ID was moved off (named on every run until it is merged).

    A journal that cannot be written (a full disk, no permission): before the first write to Alma,
    `JournalError` is raised and nothing is sent. After it, the outcome still says what Alma holds
    (``created`` with the account, never ``failed`` for a write Alma accepted) and
    ``result.journal_error`` says which journal line is missing and what to do; a write whose
    intent could not be journaled is not sent, and an identifier moved off an old account is put
    back on it when the create cannot be journaled.

    Args:
        alma: The client (`AlmaClient`); for `AsyncAlmaClient` use `aregister_patron`.
        policy: The institution's policy, ``load_policy("duke")``.
        patron: The application.
        dry_run: Do every read and decision and no write; the outcome is the one a real run would reach.
        today: The registration day; default: today in the policy's time zone (`Policy.today`).
        journal: A `Journal` or its path; ``None`` for the default journal. A dry run only reads it, if it exists.
        staff: Who registers the patron, for the journal.

    Returns:
        A `RegistrationResult` whose ``outcome`` is ``created``, ``needs_merge``, ``renewed``,
        ``already_registered``, ``blocked`` or ``failed``. Alma and network errors become ``failed``
        with ``error`` set; they are not raised.

    Raises:
        InputError: before any request, for an application the policy cannot register (an invalid
            OneLink ID, an affiliation not offered, a required fact missing, a text holding a control
            character: `check_plain_text`) or a bad argument (``alma`` not an `AlmaClient`, say).
        PolicyError: a policy plugin broke its contract.
        JournalError: the journal could not be read or written before anything was sent to Alma.
    """
    day, who = prepare(alma, policy, today, staff, call="register_patron")
    check_plain_text(patron)
    opened = journal_for(journal, dry_run=dry_run)
    trace = Trace()
    procedure = registration(
        policy, patron, today=day, dry_run=dry_run, staff=who, registration_id=uuid.uuid4().hex, trace=trace
    )
    result = drive(procedure, alma, journal=opened, trace=trace)
    result.journal_path = None if dry_run else _path(opened)
    return result


async def aregister_patron(
    alma: AsyncAlmaClient,
    policy: Policy,
    patron: Patron,
    *,
    dry_run: bool = False,
    today: date | None = None,
    journal: JournalLike = None,
    staff: str | None = None,
) -> RegistrationResult:
    """`register_patron` for `AsyncAlmaClient`: the same procedure, arguments, result and errors (journal too)."""
    day, who = prepare(alma, policy, today, staff, call="aregister_patron")
    check_plain_text(patron)
    opened = journal_for(journal, dry_run=dry_run)
    trace = Trace()
    procedure = registration(
        policy, patron, today=day, dry_run=dry_run, staff=who, registration_id=uuid.uuid4().hex, trace=trace
    )
    result = await drive_async(procedure, alma, journal=opened, trace=trace)
    result.journal_path = None if dry_run else _path(opened)
    return result


def _path(journal: Journal | None) -> Path | None:
    return journal.path if journal is not None else None
