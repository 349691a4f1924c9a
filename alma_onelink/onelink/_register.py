"""The OneLink procedure, written once: a generator of reads and writes that both drivers run.

Check → find the accounts → eligibility → decide → write (journaled ahead) → verify → what to
tell the patron. The generator never does I/O: it yields `Op`s and receives their results, or has
the SDK's error thrown in. See ``docs/onelink.md`` for the procedure paragraph each step implements.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from alma_onelink.engine import JournalEntry, JournalError, Trace
from alma_onelink.engine._compare import (
    fold,
    has_patron_type,
    is_active,
    is_expired,
    same_name,
    same_value,
    with_patron_type,
)
from alma_onelink.engine._ops import CreateUser, FindMoves, FindUnsettled, GetUser, Op, SearchUsers, UpdateUser
from alma_onelink.engine._settle import settling
from alma_onelink.engine._write import JournalTrouble, Write, describe, nothing_sent, write
from alma_onelink.errors import AlmaError, AlreadyExistsError, InputError, NotFoundError
from alma_onelink.models import Code, User
from alma_onelink.policy import (
    LINK_MY_ACCOUNT,
    LINK_ONELINK_REGISTRATION,
    LINK_ONELINK_SIGN_IN,
    LINK_SELF_SERVICE,
    EligibilityIssue,
    Patron,
    Policy,
    PolicyError,
    onelink_id_clash,
)

from .result import Candidate, Outcome, RegistrationResult

__all__ = ["check_patron", "registration"]

Procedure = Generator[Op, Any, RegistrationResult]

_SEARCH_LIMIT = 20
"""Search results to look at per query: a person has a handful of accounts, never pages of them."""


def check_patron(policy: Policy, patron: Patron, *, today: date) -> User:
    """Step 1, before anything is read: the application is complete; returns the record to create.

    Raises ``InputError`` naming what is wrong (a OneLink ID the policy refuses, an affiliation it
    does not offer, a required fact left empty, dates that give no valid expiry).
    """
    if not isinstance(patron, Patron):
        raise InputError(f"expected a Patron, got {type(patron).__name__}; build one with Patron(onelink_id=..., ...)")
    problem = policy.validate_onelink_id(patron.onelink_id)
    if problem:
        raise InputError(f"Cannot register {patron.full_name}: {problem}")
    affiliation = policy.affiliation(patron.affiliation)
    missing = affiliation.missing(patron)
    if missing:
        raise InputError(
            f"Cannot register {patron.full_name} as {affiliation.label}: fill in {', '.join(missing)} "
            "(the policy needs it to decide the account)."
        )
    return policy.build_user(patron, today=today)


@dataclass(slots=True)
class _Run:
    """The state of one registration while it runs."""

    policy: Policy
    patron: Patron
    today: date
    dry_run: bool
    staff: str | None
    registration_id: str
    trace: Trace
    record: User = field(default_factory=User)
    candidates: list[Candidate] = field(default_factory=list)
    issues: list[EligibilityIssue] = field(default_factory=list)
    entries: list[str] = field(default_factory=list)
    settled: list[JournalEntry] = field(default_factory=list)
    """Entries of earlier runs whose outcome was not known, settled by reading Alma before deciding."""
    moved_from: str | None = None
    """The old account the journal shows an earlier registration took the OneLink ID off, still to merge."""
    journal: JournalTrouble = field(default_factory=JournalTrouble)

    def result(self, outcome: Outcome, reason: str, **fields: Any) -> RegistrationResult:
        links = self.policy.links()
        result = RegistrationResult(
            outcome=outcome,
            patron=self.patron,
            reason=reason,
            candidates=self.candidates,
            issues=self.issues,
            steps=self.trace.steps,
            calls=self.trace.calls,
            links=links,
            dry_run=self.dry_run,
            registration_id=self.registration_id,
            journal_entries=self.entries,
            journal_error=self.journal.text(
                "run the same registration again: it settles this patron's entries that `alma-onelink journal "
                "pending` lists by reading Alma"
            ),
            **fields,
        )
        result.instructions = _instructions(result, links)
        return result

    def write(
        self,
        op: CreateUser | UpdateUser,
        *,
        target: str,
        before: User | None,
        reason: str,
        took_effect: Callable[[User | None], bool],
        put_back: bool = False,
    ) -> Generator[Op, Any, Write]:
        """One journaled write (`write`); a journal line it could not write is noted for ``journal_error``."""
        done = yield from write(
            op,
            target=target,
            before=before,
            reason=reason,
            operation="register",
            registration=self.registration_id,
            staff=self.staff,
            took_effect=took_effect,
            entries=self.entries,
            put_back=put_back,
        )
        self.journal.note(done, f"the {'create' if isinstance(op, CreateUser) else 'update'} of {target}")
        return done


def registration(
    policy: Policy,
    patron: Patron,
    *,
    today: date,
    dry_run: bool,
    staff: str | None,
    registration_id: str,
    trace: Trace,
) -> Procedure:
    """The procedure for one patron. Raises ``InputError`` before any request for a bad application."""
    run = _Run(policy, patron, today, dry_run, staff, registration_id, trace)
    trace.begin("check", "The application must be complete and the OneLink ID well-formed before Alma is asked.")
    run.record = check_patron(policy, patron, today=today)
    trace.end(
        f"OneLink ID {patron.onelink_id} is valid for the {policy.name!r} policy; {patron.affiliation} → group "
        f"{run.record.user_group}, expires {_day(run.record.expiry_date)}"
    )
    try:
        result = yield from _procedure(run)
    except (InputError, PolicyError):
        raise  # the application or the policy is at fault, not Alma
    except JournalError as exc:
        raise nothing_sent(exc) from exc  # only before the first write: after it, the result says what Alma holds
    except AlmaError as exc:
        # A read failed (a write's failure is handled where it happens): nothing was written after it.
        trace.end(f"Alma could not answer: {describe(exc)}", "failed")
        return run.result(
            Outcome.FAILED, f"Alma could not answer, so nothing more was done: {describe(exc)}", error=exc
        )
    return result


def _procedure(run: _Run) -> Procedure:
    patron, trace = run.patron, run.trace
    onelink_id = patron.onelink_id

    yield from _settle_earlier(run)

    # --- 2. find the patron's accounts --------------------------------------------------------
    trace.begin("find", "The procedure: search Alma for an existing account before creating one.")
    found: User | None = None
    try:
        found = yield GetUser(onelink_id)
    except NotFoundError:
        found = None
    account = found if found is not None and same_value(found.primary_id, onelink_id) else None
    old = found if found is not None and account is None else None
    if found is not None:
        clash = onelink_id_clash(found, onelink_id)
        reason = (
            "its primary id is the OneLink ID"
            if account is not None
            else "holds the OneLink ID as identifier "
            + (", ".join(str(i.id_type) for i in clash.identifiers) if clash and clash.identifiers else "(any type)")
        )
        run.candidates.append(Candidate(found, (reason,), acted_on=account is None or _is_patron(found, patron)))
    if account is None:
        yield from _search(run, exclude={fold(found.primary_id)} if found is not None else set())
    yield from _journal_moves(run, old)
    trace.end(_found_summary(run))

    if found is not None and not _is_patron(found, patron):
        how = "primary id" if account is not None else "identifier"
        run.issues.append(
            EligibilityIssue.block(
                "onelink_id_taken",
                f"The Alma account {found.primary_id} holds OneLink ID {onelink_id} as its {how}, but it belongs to "
                f"{found.display_name or 'someone else'}, not {patron.full_name}: the OneLink ID was probably "
                "mistyped.",
                "Have the patron sign in to OneLink and read the unique ID shown; if it really is theirs (a "
                "changed name), a user administrator corrects the names on that account first.",
            )
        )
        trace.begin("eligibility", "A OneLink ID belongs to one person: an account of another name is never touched.")
        trace.end(f"blocked: {found.primary_id}, which holds this OneLink ID, is another person's", "failed")
        return run.result(Outcome.BLOCKED, "the OneLink ID is held by another person's account", user=found)

    # --- 3. eligibility ------------------------------------------------------------------------
    trace.begin("eligibility", "The policy decides who may have an account; it sees the accounts found.")
    existing = [c.user for c in run.candidates if c.acted_on]
    run.issues.extend(run.policy.eligibility(patron, existing=existing, today=run.today))
    blocking = [issue for issue in run.issues if issue.is_blocking]
    if blocking:
        trace.end(f"blocked: {', '.join(issue.code for issue in blocking)}", "failed")
        return run.result(Outcome.BLOCKED, "; ".join(issue.message for issue in blocking), user=found)
    warned = [issue.code for issue in run.issues]
    trace.end(f"eligible{' (staff to read: ' + ', '.join(warned) + ')' if warned else ''}")

    # --- 4-8. decide and act ---------------------------------------------------------------------
    if account is not None:
        return (yield from _existing_account(run, account))
    older = [c.user for c in run.candidates if c.acted_on and c.user is not old]
    return (yield from _new_account(run, old, older))


def _is_patron(user: User, patron: Patron) -> bool:
    return same_name(user, patron.first_name, patron.last_name)


def _search(run: _Run, *, exclude: set[str]) -> Generator[Op, Any, None]:
    """Candidates by email and by name; an account that holds the patron's email and name is the patron's."""
    patron = run.patron
    by_email: list[User] = []
    if patron.email:
        by_email = yield from _try_search(run, {"email": patron.email}, "email")
    by_name = yield from _try_search(
        run, {"last_name": patron.last_name, "first_name": patron.first_name.split()[0]}, "name"
    )
    email_ids = {fold(u.primary_id) for u in by_email}
    seen = set(exclude)
    for brief in [*by_email, *by_name]:
        key = fold(brief.primary_id)
        if not key or key in seen:
            continue
        seen.add(key)
        named = _is_patron(brief, patron)
        emailed = key in email_ids
        if not (named or emailed):
            continue  # a word-prefix match of the name search, not this person's name
        user = brief
        if emailed and named:
            try:
                user = yield GetUser(brief.primary_id or "")  # search records are brief: eligibility needs the full one
            except InputError:  # not a usable primary id (an Alma contact's placeholder): shown, never acted on
                run.candidates.append(Candidate(brief, ("same email", "same name", "no usable primary id"), False))
                continue
            # Alma's search matches words: only an account that holds the address itself has "the same email".
            emailed = _holds_email(user, patron.email or "")
        reasons = tuple(r for r, hit in (("same email", emailed), ("same name", named)) if hit)
        run.candidates.append(Candidate(user, reasons or ("similar email",), acted_on=emailed and named))


def _try_search(run: _Run, filters: dict[str, str], what: str) -> Generator[Op, Any, list[User]]:
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


def _found_summary(run: _Run) -> str:
    if not run.candidates:
        return "no account found by OneLink ID, email or name"
    return "found " + "; ".join(f"{c.primary_id} ({', '.join(c.reasons)})" for c in run.candidates)


# --- an account with the OneLink ID as primary id: already registered, or renew ------------------


def _existing_account(run: _Run, account: User) -> Procedure:
    policy, patron, trace = run.policy, run.patron, run.trace
    group = policy.patron_group(patron)
    patron_type = policy.patron_type(patron)
    stale = [
        why
        for why, hit in (
            (f"status {account.status}", not is_active(account)),
            (f"expired {_day(account.expiry_date)}", is_expired(account, run.today)),
            (f"group {account.user_group} (the policy says {group})", not _same_code(account.user_group, group)),
            (f"Patron type is not {patron_type.statistic_category}", not has_patron_type(account, patron_type)),
        )
        if hit
    ]
    merge_from = run.moved_from
    trace.begin("decide", "An account whose primary id is the OneLink ID is the patron's OneLink account.")
    if not stale:
        trace.end(f"{account.primary_id} is active, expires {_day(account.expiry_date)}, group {group}: nothing to do")
        interrupted = _interrupted(run)
        if interrupted is not None:
            # An earlier run made the write and stopped before it could say so: give the outcome it would have.
            made = "created" if interrupted.action == "create" else "renewed"
            return run.result(
                Outcome.NEEDS_MERGE if merge_from else Outcome.CREATED if made == "created" else Outcome.RENEWED,
                f"{made} by an earlier registration whose journal line was missing (journal entry "
                f"{interrupted.id}, settled now by reading Alma)"
                + (f"; merge {merge_from} into it" if merge_from else ""),
                user=account,
                merge_from=merge_from,
            )
        if merge_from:
            return run.result(
                Outcome.NEEDS_MERGE,
                f"the OneLink account exists and is up to date; {merge_from} is still to be merged into it",
                user=account,
                merge_from=merge_from,
            )
        return run.result(Outcome.ALREADY_REGISTERED, "the OneLink account exists and is up to date", user=account)
    trace.end(f"renew {account.primary_id}: {', '.join(stale)}")

    renewed = account.model_copy(deep=True)
    expiry = policy.expiry_date(patron, today=run.today)
    if account.expiry_date is not None and account.expiry_date > expiry and not is_expired(account, run.today):
        expiry = account.expiry_date  # a renewal never shortens the time the patron already has
    renewed.user_group = group
    with_patron_type(renewed, patron_type)
    renewed.expiry_date = expiry
    renewed.purge_date = policy.purge_date(patron, expiry=expiry)
    renewed.status = Code(value="ACTIVE")
    override = ("user_group",) if _is_external(account) else ()
    trace.begin(
        "update", "Bring group, Patron type, expiry and purge date up to date (GET → change → PUT, nothing lost)."
    )
    if run.dry_run:
        trace.end(f"would update {account.primary_id}: group {group}, expires {_day(expiry)}", "planned")
        return run.result(Outcome.RENEWED, f"would renew: {', '.join(stale)}", user=renewed, merge_from=merge_from)
    done = yield from run.write(
        UpdateUser(account.primary_id or patron.onelink_id, renewed, override),
        target=account.primary_id or patron.onelink_id,
        before=account,
        reason=f"renew the OneLink account of {patron.full_name}: {', '.join(stale)}",
        took_effect=lambda user: user is not None and _same_code(user.user_group, group) and user.expiry_date == expiry,
    )
    if done.result != "done":
        trace.end(f"the update {_unhappened(done)}", "failed")
        return run.result(Outcome.FAILED, f"the renewal {_unhappened(done)}", user=account, error=done.error)
    trace.end(
        f"updated {account.primary_id}: group {group}, Patron type {patron_type.statistic_category}, "
        f"expires {_day(expiry)}"
    )
    return (yield from _verify(run, renewed, Outcome.RENEWED, f"renewed: {', '.join(stale)}", merge_from=merge_from))


def _settle_earlier(run: _Run) -> Generator[Op, Any, None]:
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


def _journal_moves(run: _Run, old: User | None) -> Generator[Op, Any, None]:
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
        if not same_value(account.primary_id, old_id) or not _is_patron(account, run.patron):
            continue  # not the account the journal remembers (a journal of another Alma, a reused id)
        why = "the journal shows an earlier registration took the OneLink ID off it"
        if known is not None:
            run.candidates.remove(known)
        reasons = (*known.reasons, why) if known is not None else (why,)
        run.candidates.append(Candidate(account, reasons, acted_on=True))
        run.moved_from = old_id
        return


def _interrupted(run: _Run) -> JournalEntry | None:
    """A create or renewal of the OneLink account an earlier run made but never said it had (settled just now)."""
    for entry in run.settled:
        if entry.operation == "register" and entry.result == "done" and same_value(entry.target, run.patron.onelink_id):
            return entry
    return None


# --- no OneLink account yet: create it (moving the identifier off an old account first) ----------


def _new_account(run: _Run, old: User | None, older: list[User]) -> Procedure:
    patron, trace = run.patron, run.trace
    onelink_id = patron.onelink_id
    merge_from = old.primary_id if old is not None else run.moved_from or (older[0].primary_id if older else None)
    outcome = Outcome.NEEDS_MERGE if merge_from else Outcome.CREATED
    if old is not None and _is_external(old) and not any("EXTERNAL" in issue.message for issue in run.issues):
        run.issues.append(_external_warning(old, onelink_id))  # unless the policy already said so
    trace.begin(
        "decide",
        "Alma refuses a new account whose primary id another account holds as an identifier."
        if old is not None
        else "No account is the patron's OneLink account: create it.",
    )
    plan = (
        f"move OneLink ID {onelink_id} off {old.primary_id}, then create {onelink_id}"
        if old
        else f"create {onelink_id}"
    )
    trace.end(plan)

    if run.dry_run:
        if old is not None:
            trace.begin("move_identifier", f"Take identifier {onelink_id} off the old account {old.primary_id}.")
            trace.end(f"would update {old.primary_id}", "planned")
        trace.begin("create", "Create the account as the policy builds it.")
        trace.end(f"would create {onelink_id} (group {run.record.user_group})", "planned")
        return run.result(outcome, f"would {plan}", user=run.record, merge_from=merge_from)

    if old is not None:
        trace.begin(
            "move_identifier", f"Take identifier {onelink_id} off the old account {old.primary_id} (journaled)."
        )
        stripped = old.model_copy(deep=True)
        stripped.user_identifier = [i for i in old.user_identifier if not same_value(i.value, onelink_id)]
        moved = yield from run.write(
            UpdateUser(old.primary_id or "", stripped),
            target=old.primary_id or "",
            before=old,
            reason=f"take OneLink ID {onelink_id} off the old account so Alma accepts the new OneLink account",
            took_effect=lambda user: user is not None and onelink_id_clash(user, onelink_id) is None,
        )
        if moved.result != "done":
            trace.end(f"the update of {old.primary_id} {_unhappened(moved)}", "failed")
            return run.result(
                Outcome.FAILED,
                f"taking the OneLink ID off {old.primary_id} {_unhappened(moved)}; no account was created",
                user=old,
                error=moved.error,
            )
        trace.end(f"{old.primary_id} no longer holds {onelink_id}")

    trace.begin("create", "Create the account as the policy builds it (primary id = OneLink ID, no password).")
    created = yield from run.write(
        CreateUser(run.record),
        target=onelink_id,
        before=None,
        reason=f"create the OneLink account of {patron.full_name}",
        took_effect=lambda user: (
            user is not None and same_value(user.primary_id, onelink_id) and _is_patron(user, patron)
        ),
    )
    if created.result == "done":
        trace.end(f"created {onelink_id}")
        reason = f"created; merge {merge_from} into it" if merge_from else "created"
        return (yield from _verify(run, created.user or run.record, outcome, reason, merge_from=merge_from))

    if isinstance(created.error, AlreadyExistsError):
        # Another registration of the same patron may have created it a moment ago: look before undoing.
        there: User | None = None
        try:
            there = yield GetUser(onelink_id)
        except AlmaError:
            there = None
        if there is not None and same_value(there.primary_id, onelink_id) and _is_patron(there, patron):
            trace.end(f"{onelink_id} was created meanwhile by another registration of {patron.full_name}")
            return run.result(
                Outcome.NEEDS_MERGE if merge_from else Outcome.ALREADY_REGISTERED,
                "the OneLink account was created at the same time by another registration"
                + (f"; merge {merge_from} into it" if merge_from else ""),
                user=there,
                merge_from=merge_from,
            )
    trace.end(f"the create {_unhappened(created)}", "failed")
    why = f"the create {_unhappened(created)}"
    if old is None:
        return run.result(Outcome.FAILED, why, error=created.error)
    if created.result == "unknown":
        return run.result(
            Outcome.FAILED,
            f"{why}; OneLink ID {onelink_id} is off {old.primary_id}: once Alma answers, run the same registration "
            f"again: it reads GET /users/{onelink_id}, settles the create and finishes the registration (if the "
            f"patron is not to be registered after all, `alma-onelink journal restore {run.entries[0]}` puts the "
            f"identifier back on {old.primary_id})",
            user=old,
            error=created.error,
        )
    # The create did not happen: put the identifier back, so the patron stays reachable by their ID.
    trace.begin("restore_identifier", f"The create failed: put identifier {onelink_id} back on {old.primary_id}.")
    back = yield from run.write(
        UpdateUser(old.primary_id or "", old),
        target=old.primary_id or "",
        before=moved.user,
        reason=f"the create failed: put OneLink ID {onelink_id} back on the old account",
        took_effect=lambda user: user is not None and onelink_id_clash(user, onelink_id) is not None,
        put_back=True,
    )
    if back.result == "done":
        trace.end(f"{old.primary_id} holds {onelink_id} again")
        return run.result(
            Outcome.FAILED, f"{why}; the identifier was put back on {old.primary_id}", user=old, error=created.error
        )
    trace.end(f"putting it back {_unhappened(back)}", "failed")
    return run.result(
        Outcome.FAILED,
        f"{why}, and putting OneLink ID {onelink_id} back on {old.primary_id} {_unhappened(back)}: restore journal "
        f"entry {run.entries[0]} (alma-onelink journal restore {run.entries[0]})",
        user=old,
        error=created.error,
    )


def _external_warning(old: User, onelink_id: str) -> EligibilityIssue:
    source = old.external_id or "an external system"
    return EligibilityIssue.warn(
        "external_identifier_moved",
        f"The old account {old.primary_id} is EXTERNAL (loaded from {source}): a later load from {source} may put "
        f"OneLink ID {onelink_id} back on it, and Alma would then refuse the load or hold the ID twice.",
        f"Ask the {source} administrators to drop {onelink_id} from that account's feed, or merge {old.primary_id} "
        "into the new account before the next load; check the new account signs in after that load.",
    )


# --- 7. verify, as the patron's login would find the account -------------------------------------


def _verify(run: _Run, expected: User, outcome: Outcome, reason: str, *, merge_from: str | None = None) -> Procedure:
    patron, trace = run.patron, run.trace
    policy = run.policy
    trace.begin(
        "verify",
        "The procedure: have the patron test their account. Read it back by the OneLink ID, as a login finds it.",
    )
    try:
        got: User = yield GetUser(patron.onelink_id)
    except AlmaError as exc:
        run.issues.append(
            EligibilityIssue.warn(
                "not_verified",
                f"The account was written, but reading it back failed: {describe(exc)}",
                f"Look the account up in Alma (GET /users/{patron.onelink_id}) before the patron leaves.",
            )
        )
        trace.end("could not read the account back", "failed")
        return run.result(outcome, reason, user=expected, merge_from=merge_from)
    group = expected.user_group
    patron_type = policy.patron_type(patron)
    wrong = [
        why
        for why, hit in (
            (
                f"the OneLink ID finds {got.primary_id}, not {patron.onelink_id}",
                not same_value(got.primary_id, patron.onelink_id),
            ),
            (f"group is {got.user_group}, not {group}", not _same_code(got.user_group, group)),
            (f"no Patron type {patron_type.statistic_category}", not has_patron_type(got, patron_type)),
            (
                f"expires {_day(got.expiry_date)}, not {_day(expected.expiry_date)}",
                got.expiry_date != expected.expiry_date,
            ),
            ("an Alma password is set (OneLink accounts have none)", bool(got.password)),
        )
        if hit
    ]
    if wrong:
        trace.end("Alma holds the account differently: " + "; ".join(wrong), "failed")
        return run.result(
            Outcome.FAILED,
            f"{reason}, but reading it back shows: {'; '.join(wrong)}. "
            "Fix the account in Alma before the patron signs in",
            user=got,
            merge_from=merge_from,
        )
    trace.end(
        f"{got.primary_id}: group {got.user_group}, Patron type {patron_type.statistic_category}, "
        f"expires {_day(got.expiry_date)}"
    )
    return run.result(outcome, reason, user=got, merge_from=merge_from)


# --- what to tell the patron ----------------------------------------------------------------------


def _instructions(result: RegistrationResult, links: dict[str, str]) -> list[str]:
    patron = result.patron
    if result.outcome is Outcome.BLOCKED:
        return [issue.hint or issue.message for issue in result.blocking]
    if result.outcome is Outcome.FAILED:
        return [f"Nothing is ready for the patron yet: {result.reason}."]
    lines = []
    # The procedure: "have the patron log in [to My Account] with their OneLink account and verify that it
    # loads". Only My Account shows the library account; OneLink's own sign-in page tests OneLink alone.
    my_account, sign_in = links.get(LINK_MY_ACCOUNT), links.get(LINK_ONELINK_SIGN_IN)
    where = f" at {my_account}" if my_account else ""
    lines.append(
        f"Sign in to the library's My Account{where} with your OneLink account (unique ID {patron.onelink_id}) "
        "and check that your account loads; no library password is needed."
    )
    if sign_in:
        lines.append(f"If the OneLink sign-in itself fails, test it at {sign_in}: it shows your unique ID.")
    if result.user is not None and result.user.expiry_date is not None:
        lines.append(f"Your library account is valid until {_day(result.user.expiry_date)}.")
    if registration := links.get(LINK_ONELINK_REGISTRATION):
        lines.append(f"No OneLink account yet, or unsure? Register or check at {registration}.")
    if self_service := links.get(LINK_SELF_SERVICE):
        lines.append(f"Forgot your OneLink password? Reset it at {self_service}.")
    if result.merge_from:
        lines.append(
            f"Your old library account ({result.merge_from}) will be merged into this one by a user administrator; "
            "your loans, requests and fees move with it."
        )
    maybe = [c.primary_id for c in result.candidates if not c.acted_on]
    if maybe:
        lines.append(f"Staff: check whether {', '.join(maybe)} is also this patron's (matched by name or email only).")
    return lines


# --- small helpers ----------------------------------------------------------------------------------


def _day(day: date | None) -> str:
    return day.isoformat() if day is not None else "never"


def _same_code(a: Code | None, b: Code | None) -> bool:
    return same_value(a.value if a is not None else None, b.value if b is not None else None)


def _is_external(user: User) -> bool:
    return user.account_type is not None and user.account_type.matches("EXTERNAL")


def _unhappened(write: Write) -> str:
    if not write.sent:
        return "was not sent: the journal could not be written"
    if write.result == "unknown":
        return f"may or may not have happened (Alma's answer was lost: {write.error}); journal entry {write.entry_id}"
    return f"was refused: {write.error}"
