"""Registrations stopped half-way: the OneLink ID taken off an old account, the OneLink account never created.

Alma refuses a new account whose primary id another account holds as an identifier, so a
registration first takes the OneLink ID off the old account (a journaled update), then creates the
account. Stopped between the two (a kill, a crash, a create refused and the identifier not put back),
it leaves the OneLink ID on no account: the patron cannot sign in. The journal names the candidates
(`alma_onelink.engine._moves.half_done`): the create's intent is journaled before the move's
completion, so such a run always leaves the create failed or not known, or the move not known. One
read of Alma (``GET /users/{onelink_id}``, which finds the id as a primary id or an identifier)
confirms the id is on no account.
"""

from __future__ import annotations

import shlex
from collections.abc import Generator, Iterable
from dataclasses import dataclass
from typing import Any

from alma_onelink.errors import NotFoundError

from ._ops import FindHalfDone, GetUser, Op
from .journal import JournalEntry

__all__ = ["Unfinished", "finding_unfinished"]


@dataclass(frozen=True, slots=True)
class Unfinished:
    """A registration that took ``onelink_id`` off ``old_account`` and never created the OneLink account.

    ``registration`` is its id (``alma-onelink journal show --registration ID``); ``move`` the journal
    entry of the identifier move; ``create`` the entry of the create that did not happen, or None if
    the run stopped before journaling it. `finish` and `undo` are the commands that end it either way.
    """

    registration: str
    onelink_id: str
    old_account: str
    move: str
    create: str | None = None

    @property
    def finish(self) -> str:
        """The command that finishes it, the rest of the patron's application (``…``) as first given.

        The same registration again (or the same batch file again) creates the account and names the
        old account to merge into it.
        """
        return f"alma-onelink register --onelink-id {shlex.quote(self.onelink_id)} …"

    @property
    def undo(self) -> str:
        """The command that undoes it: the identifier put back on the old account."""
        return f"alma-onelink journal restore {self.move}"

    def __str__(self) -> str:
        return (
            f"registration {self.registration} took OneLink ID {self.onelink_id} off {self.old_account} (journal "
            f"entry {self.move}) but did not create the account {self.onelink_id}: the OneLink ID is on no account, "
            f"so the patron cannot sign in. Finish it: `{self.finish}` with the rest of the patron's application as "
            f"first given (or the same batch file again) creates the account and names {self.old_account} to merge "
            f"into it; or undo it: `{self.undo}` puts {self.onelink_id} back on {self.old_account}."
        )


def finding_unfinished(registrations: Iterable[str], *, open_ones: bool) -> Generator[Op, Any, list[Unfinished]]:
    """The half-done registrations among ``registrations`` (and, with ``open_ones``, among every registration
    whose create did not happen or is not known), each confirmed by one read of Alma.

    A read that fails raises the SDK's error into the caller.
    """
    wanted = tuple(sorted(set(registrations)))
    if not wanted and not open_ones:
        return []
    candidates: list[tuple[JournalEntry, str, JournalEntry | None]] = yield FindHalfDone(wanted, open_ones)
    found: list[Unfinished] = []
    seen: set[tuple[str, str]] = set()
    for move, onelink_id, create in candidates:
        key = (move.registration or move.id, onelink_id.casefold())
        if key in seen:
            continue
        seen.add(key)
        try:
            holder = yield GetUser(onelink_id)
        except NotFoundError:
            holder = None
        if holder is not None:
            continue  # an account holds the id (as its primary id or an identifier): the patron can sign in
        found.append(
            Unfinished(move.registration or move.id, onelink_id, move.target, move.id, create.id if create else None)
        )
    return found
