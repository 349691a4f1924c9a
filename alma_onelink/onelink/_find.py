"""Steps before deciding: settle what an earlier run left unknown, and find the patron's accounts.

The procedure: search Alma for an existing account before creating one. Accounts are found by the
OneLink ID (as primary id or any identifier), by email and by name, and from the journal (an old
account an earlier registration took the OneLink ID off, still to be merged).
"""

from __future__ import annotations

import re
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from alma_onelink.engine import JournalEntry
from alma_onelink.engine._compare import fold, same_value
from alma_onelink.engine._ops import FindMoves, FindUnsettled, GetUser, Op, SearchUsers
from alma_onelink.engine._settle import settling
from alma_onelink.errors import InputError, NotFoundError
from alma_onelink.models import User
from alma_onelink.policy import EligibilityIssue, onelink_id_clash

from ._run import Run, is_patron
from .result import Candidate

__all__ = ["Found", "find_accounts", "interrupted", "settle_earlier"]

_SEARCH_LIMIT = 20
"""Search results to look at per query: a person has a handful of accounts, never pages of them."""
_WORD = re.compile(r"[^\W_]+")
_NO_ID = "no usable primary id"


@dataclass(frozen=True, slots=True)
class Found:
    """What the OneLink ID itself finds: the account holding it, as its primary id or as an identifier."""

    user: User | None
    """The account Alma returns for the OneLink ID, if any."""
    account: User | None
    """The patron's OneLink account: ``user`` when its primary id is the OneLink ID."""
    old: User | None
    """An old account that holds the OneLink ID as an identifier (to move it off, then merge)."""


def settle_earlier(run: Run) -> Generator[Op, Any, None]:
    """Settle what an earlier run of this OneLink ID left unknown (it stopped between a write and its line).

    Each write is read in Alma before anything is decided, so a create or a move that took effect
    counts as done; a dry run settles in memory only.
    """
    unsettled: list[JournalEntry] = yield FindUnsettled(run.patron.onelink_id)
    if not unsettled:
        return
    run.trace.begin("settle", "An earlier run stopped before the journal said how its writes ended: read Alma to know.")
    run.settled = yield from settling(unsettled, write=not run.dry_run)
    verb = "would settle" if run.dry_run else "settled"
    run.trace.end(f"{verb}: " + "; ".join(f"{e.action} {e.target} {e.result}" for e in run.settled))


def find_accounts(run: Run) -> Generator[Op, Any, Found]:
    """Step 2: the account the OneLink ID finds, then (without a OneLink account) candidates by email and name."""
    patron, trace = run.patron, run.trace
    onelink_id = patron.onelink_id
    trace.begin("find", "The procedure: search Alma for an existing account before creating one.")
    user: User | None = None
    try:
        user = yield GetUser(onelink_id)
    except NotFoundError:
        user = None
    account = user if user is not None and same_value(user.primary_id, onelink_id) else None
    found = Found(user, account, user if user is not None and account is None else None)
    if user is not None:
        clash = onelink_id_clash(user, onelink_id)
        reason = (
            "its primary id is the OneLink ID"
            if found.account is not None
            else "holds the OneLink ID as identifier "
            + (", ".join(str(i.id_type) for i in clash.identifiers) if clash and clash.identifiers else "(any type)")
        )
        run.candidates.append(Candidate(user, (reason,), acted_on=found.account is None or is_patron(user, patron)))
    if found.account is None:
        yield from _search(run, exclude={fold(user.primary_id)} if user is not None else set())
    yield from _journal_moves(run, found.old)
    trace.end(_found_summary(run))
    return found


def interrupted(run: Run) -> JournalEntry | None:
    """A create or renewal of the OneLink account an earlier run made but never said it had (settled just now)."""
    for entry in run.settled:
        if entry.operation == "register" and entry.result == "done" and same_value(entry.target, run.patron.onelink_id):
            return entry
    return None


def _search(run: Run, *, exclude: set[str]) -> Generator[Op, Any, None]:
    """Candidates by email and by name; an account that holds the patron's email and name is the patron's.

    Two searches (by email, by name), or one ``email~… OR last_name~… AND first_name~…`` where the
    policy says the institution's Alma accepts ``OR`` (`Policy.search_with_or`); the candidates are
    the same either way (see `_search_once`).
    """
    patron = run.patron
    name = {"last_name": patron.last_name, "first_name": patron.first_name.split()[0]}
    if patron.email and run.policy.search_with_or:
        by_email, by_name, email_ids = yield from _search_once(run, {"email": patron.email}, name, exclude)
    else:
        by_email, by_name, email_ids = yield from _search_apart(run, patron.email, name)
    seen = set(exclude)
    for brief in [*by_email, *by_name]:
        key = fold(brief.primary_id)
        if not key or key in seen:
            continue
        seen.add(key)
        named = is_patron(brief, patron)
        emailed = email_ids.get(key, False)  # None: the search cannot say; the full record does
        if not named and emailed is False:
            continue  # a word-prefix match of the name search, not this person's name
        user = brief
        if emailed is None or (emailed and named):
            try:
                user = yield GetUser(brief.primary_id or "")  # search records are brief: eligibility needs the full one
            except InputError:  # not a usable primary id (an Alma contact's placeholder): shown, never acted on
                why = ["same email"] if emailed else [] if named else ["same email or a similar name"]
                why += ["same name"] if named else []
                run.candidates.append(Candidate(brief, (*why, _NO_ID), acted_on=False))
                continue
            # Alma's search matches words: only an account that holds the address itself has "the same email".
            emailed = _holds_email(user, patron.email or "")
            if not (named or emailed):
                continue  # found by a word of the name, and its email is not the patron's
        reasons = tuple(r for r, hit in (("same email", emailed), ("same name", named)) if hit)
        run.candidates.append(Candidate(user, reasons or ("similar email",), acted_on=bool(emailed) and named))


Searched = tuple[list[User], list[User], dict[str, bool | None]]
"""``(by_email, by_name, email_ids)``: the records found by email, by name, and whether each (by its
folded primary id) was found by email (``None``: the search cannot say; the full record does)."""


def _search_apart(run: Run, email: str | None, name: dict[str, str]) -> Generator[Op, Any, Searched]:
    """The search by email (when the application has one), then the search by name."""
    by_email = (yield from _try_search(run, {"email": email}, "email")) if email else []
    by_name = yield from _try_search(run, name, "name")
    return by_email, by_name, {fold(u.primary_id): True for u in by_email}


def _search_once(
    run: Run, email: dict[str, str], name: dict[str, str], exclude: set[str]
) -> Generator[Op, Any, Searched]:
    """One search by email OR name, read as `_search_apart` would have found the records.

    The records come back brief (primary id, names), so which condition found each is told from its
    names: a record whose names the name condition cannot match was found by email. One that it can
    match may have been found by either: the full record says, read anyway when the names are the
    patron's. When more than one record is in doubt, the search by email follows (as without
    ``OR``: two searches); when the page is full (it may have left accounts out), both searches
    follow, as without ``OR``. A value one condition cannot carry: both searches, each saying so.
    """
    limit = 2 * _SEARCH_LIMIT  # room for what each of the two searches would have returned
    found: list[User] | None = None
    try:
        found = yield SearchUsers(email, limit=limit, alternatives=(name,))
    except InputError:
        found = None  # a value the query cannot carry: apart, the other search still runs, and staff are told
    if found is None or len(found) >= limit:
        return (yield from _search_apart(run, email["email"], name))
    doubt = {fold(u.primary_id) for u in found if _may_match_name(u, name)} - exclude - {""}
    if len(doubt) > 1:
        by_email = yield from _try_search(run, email, "email")
        known = {fold(u.primary_id) for u in by_email}
        return by_email, [u for u in found if fold(u.primary_id) not in known], dict.fromkeys(known, True)
    # A record the name condition cannot have found was found by email; the one in doubt, by its full record.
    certain = [u for u in found if fold(u.primary_id) not in doubt]
    email_ids: dict[str, bool | None] = {**dict.fromkeys(doubt, None), **{fold(u.primary_id): True for u in certain}}
    return certain, [u for u in found if fold(u.primary_id) in doubt], email_ids


def _may_match_name(user: User, name: dict[str, str]) -> bool:
    """Whether a name condition could have found ``user``: each word of each value inside the field's text.

    Looser than Alma's word-prefix match on purpose: a record this says no to was certainly found by email.
    """
    for field, value in name.items():
        text = fold(getattr(user, field, None))
        if not text or not all(word in text for word in _WORD.findall(fold(value))):
            return False
    return True


def _try_search(run: Run, filters: dict[str, str], what: str) -> Generator[Op, Any, list[User]]:
    """One search; a value Alma's query syntax cannot carry skips it, and staff are told."""
    try:
        found: list[User] = yield SearchUsers(filters, limit=_SEARCH_LIMIT)
    except InputError as exc:  # the client refuses what Alma's query syntax cannot carry (a "~")
        problem = str(exc)
    else:
        return found
    run.issues.append(
        EligibilityIssue.warn(
            "search_skipped",
            f"The search by {what} was skipped ({problem}), so an older account of this patron may not have "
            "been found.",
            f"Search Alma by {what} by hand before the patron leaves; merge any older account found into the new one.",
        )
    )
    return []


def _holds_email(user: User, email: str) -> bool:
    emails = user.contact_info.email if user.contact_info is not None else []
    return bool(email) and any(same_value(e.email_address, email) for e in emails)


def _found_summary(run: Run) -> str:
    if not run.candidates:
        return "no account found by OneLink ID, email or name"
    return "found " + "; ".join(f"{c.primary_id} ({', '.join(c.reasons)})" for c in run.candidates)


def _journal_moves(run: Run, old: User | None) -> Generator[Op, Any, None]:
    """An old account an earlier registration took the OneLink ID off, still there to be merged (journal)."""
    moved: list[str] = yield FindMoves(run.patron.onelink_id, settled=tuple(run.settled))
    for old_id in moved:
        if old is not None and same_value(old.primary_id, old_id):
            continue  # it holds the OneLink ID again: the move is this run's to make
        known = next((c for c in run.candidates if same_value(c.primary_id, old_id)), None)
        try:
            account: User = known.user if known is not None and known.acted_on else (yield GetUser(old_id))
        except NotFoundError:
            continue  # merged (deleted) or removed since
        if not same_value(account.primary_id, old_id) or not is_patron(account, run.patron):
            continue  # not the account the journal remembers (a journal of another Alma, a reused id)
        why = "the journal shows an earlier registration took the OneLink ID off it"
        if known is not None:
            run.candidates.remove(known)
        reasons = (*known.reasons, why) if known is not None else (why,)
        run.candidates.append(Candidate(account, reasons, acted_on=True))
        run.moved_from = old_id
        return
