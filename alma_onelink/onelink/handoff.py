"""Past the daily quota, Alma's own bulk path: new accounts handed off in a SIS import file, journaled, reconciled.

```python
from alma_onelink.onelink.handoff import hand_off, reconcile

handed = hand_off(users, "onelink-2026-03-02.zip", journal=journal, staff="jsmith")  # no Alma call
# … the file goes to the SIS profile's folder; Alma's job loads it …
for checked in reconcile(alma, journal=journal):       # 1 read per account, within the daily budget
    print(checked.target, checked.state)               # loaded | waiting | deferred | failed
```

Each account handed off is a journal entry of its own: a ``create`` of the account with operation
``"sis_file"``, the file's SHA-256 as its registration and a reason naming the file (and the batch
file it was written from, when given). They are journaled at once (`Journal.intend_many`: one lock,
one disk sync). Each stays pending until `reconcile` (or ``alma-onelink journal settle``) reads the
account in Alma and settles it ``done``; an account Alma has not loaded yet leaves it pending.
`handed_off_files` groups pending hand-offs by file, for ``alma-onelink journal pending``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shlex
import uuid
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

from alma_onelink.engine import Intent, Journal, JournalEntry, JournalError, JournalLike, open_journal
from alma_onelink.engine._compare import same_value
from alma_onelink.engine._journal_files import fsync_folder
from alma_onelink.engine._moves import next_write
from alma_onelink.engine._settle_decide import HANDED_OFF, decide_by_following
from alma_onelink.errors import AlmaError, InputError, NotFoundError
from alma_onelink.models import User
from alma_onelink.policy import EligibilityIssue, Patron, Policy
from alma_onelink.sis import SisFile, SisFileError, write_sis_file

from ._batch_parts import check_concurrency
from ._register import check_patron
from .budget import DEFAULT_RESERVE, Budget, check_reserve, may_start, open_budget
from .result import Outcome, RegistrationResult

if TYPE_CHECKING:
    from alma_onelink import AlmaClient

__all__ = [
    "HANDOFF_OPERATION",
    "NOT_SEARCHED",
    "HandOff",
    "HandedOffFile",
    "Reconciled",
    "hand_off",
    "handed_off_files",
    "handoffs",
    "reconcile",
    "unsearched",
]

HANDOFF_OPERATION: Final = HANDED_OFF
"""The journal's ``operation`` of an account handed off in a SIS file."""
NOT_SEARCHED: Final = "not_searched"
"""The code of the warning on an account built without searching Alma (`unsearched`)."""


def unsearched(policy: Policy, patron: Patron, *, today: date, index: int | None = None) -> RegistrationResult:
    """The account the policy builds for ``patron`` without reading Alma (no call), for a SIS file.

    Returns a dry-run ``created`` result whose ``user`` is the record, with a ``not_searched``
    warning (nobody looked for the patron's older accounts), or ``blocked`` when the policy's
    eligibility blocks the patron without any account to see.

    Raises:
        InputError: an application the policy cannot register.
        PolicyError: a policy plugin broke its contract.
    """
    check_patron(policy, patron)
    issues = list(policy.eligibility(patron, existing=[], today=today))
    blocking = [issue for issue in issues if issue.is_blocking]
    links = policy.links()
    if blocking:
        reason = "; ".join(issue.message for issue in blocking)
        result = RegistrationResult(
            Outcome.BLOCKED, patron, reason, issues=issues, links=links, dry_run=True, index=index
        )
        result.instructions = [issue.hint or issue.message for issue in blocking]
        return result
    issues.append(
        EligibilityIssue.warn(
            NOT_SEARCHED,
            "Alma was not searched for an existing account of this patron (the daily budget was spent): Alma's SIS "
            "load skips a OneLink ID that exists, but finds no older account under another id (a NetID-era "
            "account), so the patron may end up with two.",
            "Search Alma by the patron's email and name; merge any older account into the new one once it is loaded.",
        )
    )
    return RegistrationResult(
        Outcome.CREATED,
        patron,
        "would create the account (Alma not searched)",
        user=policy.build_user(patron, today=today),
        issues=issues,
        links=links,
        dry_run=True,
        index=index,
    )


@dataclass(frozen=True, slots=True)
class HandOff:
    """A SIS file written and its hand-off journaled: the file, and one pending entry per account, in file order."""

    file: SisFile
    entries: tuple[JournalEntry, ...]


def hand_off(
    users: Sequence[User],
    path: str | os.PathLike[str],
    *,
    journal: JournalLike = None,
    staff: str | None = None,
    overwrite: bool = False,
    source: str | os.PathLike[str] | None = None,
) -> HandOff:
    """Write ``users`` as a SIS import file (`write_sis_file`) and journal the hand-off of each account.

    No call to Alma. Each account gets a pending ``create`` entry (operation ``"sis_file"``, the
    file's SHA-256 as its registration, a reason naming the file and ``source``, the batch file the
    accounts come from, when given), all journaled at once; each is settled by `reconcile` once
    Alma has loaded it. If the journal cannot be written, the file is removed (nothing was handed to
    Alma yet) and any entry already written is settled ``failed`` where the journal allows. The file is
    written under a name of its own beside ``path`` and renamed to ``path`` only once its hand-offs are
    journaled, so a file at ``path`` always has its hand-offs in the journal.

    Raises:
        InputError: a user that cannot go in a SIS file, or a bad ``path`` (see `write_sis_file`).
        SisFileError: the file could not be written.
        JournalError: the journal could not be written; the file was removed.
    """
    opened = open_journal(journal)
    # The journal names the file by its full path: staff find it from any folder. It is written under a name of
    # its own first and renamed into place once its hand-offs are journaled: no file at its name goes unjournaled.
    final = Path(os.fspath(path)).expanduser().absolute()
    if not isinstance(overwrite, bool):
        raise InputError(f"overwrite must be True or False, not {overwrite!r:.40}")
    if final.is_file() and not overwrite:
        raise InputError(f"{final} already exists; choose another name, or pass overwrite=True to replace it")
    writing = write_sis_file(users, final.with_name(f".{final.stem}.{uuid.uuid4().hex[:8]}.partial.zip"))
    written = dataclasses.replace(writing, path=final)
    batch = shlex.quote(str(Path(os.fspath(source)).expanduser().absolute())) if source is not None else "FILE"
    reason = (
        f"handed off in the SIS file {written.path} (sha256 {written.sha256[:12]}…) for Alma's SIS load"
        + (f", from the batch file {batch}" if source is not None else "")
        + f"; pending until Alma has loaded it: `alma-onelink batch {batch} --reconcile` settles it by reading Alma"
    )
    intents = [
        Intent("create", primary_id, None, None, staff, written.sha256, HANDOFF_OPERATION, reason)
        for primary_id in written.primary_ids
    ]
    try:
        entries = opened.intend_many(intents)
    except (OSError, JournalError) as exc:
        _withdraw(writing, opened, final)
        cause = getattr(exc, "cause", "") or str(exc) or type(exc).__name__
        raise JournalError(
            f"The journal {opened.path} could not be written ({cause}), so the hand-off of {written.path} could not "
            f"be recorded: the file was removed (it was never given to Alma). Free space on the journal's disk or fix "
            "its permissions, then write the SIS file again.",
            path=opened.path,
            cause=cause,
            nothing_sent=True,
        ) from exc
    try:
        os.replace(writing.path, final)
    except OSError as exc:
        _withdraw(writing, opened, final)
        raise SisFileError(
            f"The SIS file {final} could not be put in place ({exc}): it was removed and its hand-offs settled "
            "failed (it was never given to Alma); write it again",
            path=final,
        ) from exc
    fsync_folder(final.parent)
    return HandOff(written, tuple(entries))


def _withdraw(writing: SisFile, journal: Journal, final: Path) -> None:
    """The hand-off could not be journaled whole: remove the file written (under its own name, never ``final``)
    and settle what a short write left journaled of it."""
    with contextlib.suppress(OSError):
        writing.path.unlink()
    note = f"the SIS file {final} was removed before it was given to Alma: the journal could not record it all"
    with contextlib.suppress(OSError, AlmaError):
        for entry in journal.entries(registration=writing.sha256, operation=HANDOFF_OPERATION):
            if entry.is_pending and entry.reason is not None and str(final) in entry.reason:
                journal.settle(entry, result="failed", note=note, error=note)


def handoffs(journal: JournalLike = None, targets: Iterable[str] | None = None) -> dict[str, JournalEntry]:
    """The latest hand-off in a SIS file of each account (``targets``: these OneLink IDs only), keyed by its id.

    Keys are the primary ids as journaled; ``targets`` are compared ignoring case and blanks.
    """
    wanted = None if targets is None else {target.strip().casefold() for target in targets}
    found: dict[str, JournalEntry] = {}
    for entry in open_journal(journal).entries():
        if entry.operation != HANDOFF_OPERATION or entry.action != "create":
            continue
        key = entry.target.strip().casefold()
        if wanted is None or key in wanted:
            found.pop(key, None)
            found[key] = entry  # the latest, in the journal's order
    return {entry.target: entry for entry in found.values()}


ReconcileState = Literal["loaded", "waiting", "deferred", "failed", "superseded"]


@dataclass(frozen=True, slots=True)
class Reconciled:
    """One account handed off in a SIS file, checked against Alma.

    ``state``: ``"loaded"`` (Alma holds the account; its entry is settled ``done``), ``"waiting"``
    (Alma has no such account yet; the entry stays pending), ``"deferred"`` (not read, to keep Alma's
    daily quota), ``"failed"`` (the read failed: ``error``), ``"superseded"`` (the account was created through
    Alma's API after the hand-off: its entry is settled ``failed``, its ``note`` naming the create and the SIS
    file to remove the account from before loading it; not read). ``entry`` is the hand-off as the journal
    holds it now; ``user`` the account read; ``settled_now`` whether this check settled the entry.
    """

    entry: JournalEntry
    state: ReconcileState
    user: User | None = None
    error: AlmaError | None = None
    settled_now: bool = False

    @property
    def target(self) -> str:
        """The primary id of the account handed off (the patron's OneLink ID)."""
        return self.entry.target


def reconcile(
    alma: AlmaClient,
    *,
    journal: JournalLike = None,
    targets: Iterable[str] | None = None,
    reserve: int | None = DEFAULT_RESERVE,
    concurrency: int = 8,
) -> Iterator[Reconciled]:
    """Check which accounts handed off in SIS files Alma has loaded: 1 read each, within the daily budget.

    Every hand-off of ``journal`` (``targets``: these OneLink IDs only) not known to be loaded is read
    (``GET /users/{id}``), ``concurrency`` at a time; an account Alma holds settles its entry ``done``.
    A hand-off already settled ``done`` is ``loaded`` without a read; one a later create through Alma's API
    superseded is ``superseded`` (settled ``failed``), without a read. The reads keep ``reserve``
    calls of Alma's daily quota, as `register_many` does: a read that does not fit is ``deferred``.
    Results come in the journal's order of the hand-offs.

    Raises:
        InputError: a bad argument.
        JournalError: the journal could not be read or written (the accounts settled before it are settled).
    """
    workers = check_concurrency(concurrency)
    check_reserve(reserve)
    opened = open_journal(journal)
    entries = list(handoffs(opened, targets).values())
    budget = open_budget(alma, reserve, 1) if any(entry.result != "done" for entry in entries) else None

    def read(entry: JournalEntry) -> tuple[User | None, AlmaError | None]:
        try:
            user = alma.users.get(entry.target)
        except NotFoundError:
            return None, None
        except AlmaError as exc:
            return None, exc
        finally:
            if budget is not None:
                budget.release()
        return (user, None) if same_value(user.primary_id, entry.target) else (None, None)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="alma-onelink-reconcile") as pool:
        running: dict[Future[tuple[User | None, AlmaError | None]], JournalEntry] = {}
        ready: dict[str, Reconciled] = {}
        order = [entry.id for entry in entries]
        shown = 0
        for entry in entries:
            superseding = next_write(opened, entry) if entry.result != "done" else None
            if entry.result == "done":
                ready[entry.id] = Reconciled(entry, "loaded")
            elif superseding is not None:
                ready[entry.id] = _supersede(entry, superseding, opened)
            elif budget is not None:
                while running and (len(running) >= workers or not budget.fits()) and not budget.spent:
                    _collect(running, ready, opened, budget)
                if not may_start(budget, alma):
                    budget.spent = True
                    ready[entry.id] = Reconciled(entry, "deferred")
                else:
                    budget.hold()
                    running[pool.submit(read, entry)] = entry
            while shown < len(order) and order[shown] in ready:
                yield ready.pop(order[shown])
                shown += 1
        while running:
            _collect(running, ready, opened, budget)
            while shown < len(order) and order[shown] in ready:
                yield ready.pop(order[shown])
                shown += 1


def _collect(
    running: dict[Future[tuple[User | None, AlmaError | None]], JournalEntry],
    ready: dict[str, Reconciled],
    journal: Journal,
    budget: Budget | None,
) -> None:
    """Wait for one read (or more) to end; settle each account found; note a used-up quota."""
    done, _ = wait(running, return_when=FIRST_COMPLETED)
    for future in done:
        entry = running.pop(future)
        user, error = future.result()
        if budget is not None:
            budget.saw(error)
        if error is not None:
            ready[entry.id] = Reconciled(entry, "failed", error=error)
        elif user is None:
            ready[entry.id] = Reconciled(entry, "waiting")
        else:
            ready[entry.id] = _settle(entry, user, journal)


def _supersede(entry: JournalEntry, create: JournalEntry, journal: Journal) -> Reconciled:
    """A hand-off a later create through Alma's API superseded: settled failed (the account was not loaded from
    the file), its note naming the create and the file to remove the account from."""
    if not entry.is_unsettled:
        return Reconciled(entry, "superseded")
    decided = decide_by_following(entry, create)
    note = decided.note if decided is not None else f"superseded by journal entry {create.id}"
    try:
        settled = journal.settle(entry, result="failed", note=note, error=note)
    except (OSError, JournalError) as exc:
        cause = getattr(exc, "cause", "") or str(exc) or type(exc).__name__
        raise JournalError(
            f"The journal {journal.path} could not be written ({cause}): the hand-off of {entry.target}, superseded "
            f"by its create through Alma's API (journal entry {create.id}), stays pending; free space on the "
            "journal's disk or fix its permissions, then check again",
            path=journal.path,
            cause=cause,
        ) from exc
    return Reconciled(settled, "superseded", settled_now=settled.result == "failed")


def _settle(entry: JournalEntry, user: User, journal: Journal) -> Reconciled:
    if not entry.is_unsettled:
        return Reconciled(entry, "loaded", user=user)  # settled otherwise before (by a registration or a settle)
    # "exists", not "was loaded": an account handed off without searching Alma may have been there before.
    note = f"settled by reading Alma: {entry.target} exists, so the account handed off in the SIS file is in Alma"
    try:
        settled = journal.settle(entry, result="done", note=note, after=user.to_alma())
    except (OSError, JournalError) as exc:
        cause = getattr(exc, "cause", "") or str(exc) or type(exc).__name__
        raise JournalError(
            f"The journal {journal.path} could not be written ({cause}): the hand-off of {entry.target}, which Alma "
            "has loaded, stays pending; free space on the journal's disk or fix its permissions, then check again",
            path=journal.path,
            cause=cause,
        ) from exc
    return Reconciled(settled, "loaded", user=user, settled_now=settled.result == "done")


@dataclass(frozen=True, slots=True)
class HandedOffFile:
    """The pending hand-offs of one SIS file: how many, the file, and the batch file to reconcile them with.

    ``sis_file`` and ``batch_file`` are as journaled (``batch_file`` None when the hand-off did not
    name it); ``reconcile`` is the command that settles them once Alma has loaded the file.
    """

    sha256: str
    count: int
    sis_file: str | None
    batch_file: str | None

    @property
    def reconcile(self) -> str:
        """``alma-onelink batch FILE --reconcile``, FILE the batch file when the journal names it."""
        return f"alma-onelink batch {self.batch_file or 'FILE'} --reconcile"


_SIS_FILE = re.compile(r"in the SIS file (.+?) \(sha256 ")
_BATCH_FILE = re.compile(r", from the batch file (.+?); pending until")


def handed_off_files(entries: Iterable[JournalEntry]) -> list[HandedOffFile]:
    """Group the hand-offs in SIS files among ``entries`` by file, in the order each file first appears.

    Entries of another operation are left out. The files are read from each entry's reason, as
    `hand_off` writes it.
    """
    files: dict[str, HandedOffFile] = {}
    for entry in entries:
        if entry.operation != HANDOFF_OPERATION:
            continue
        key = entry.registration or entry.id
        known = files.get(key)
        if known is not None:
            files[key] = HandedOffFile(key, known.count + 1, known.sis_file, known.batch_file)
            continue
        reason = entry.reason or ""
        sis = _SIS_FILE.search(reason)
        batch = _BATCH_FILE.search(reason)
        files[key] = HandedOffFile(key, 1, sis[1] if sis else None, batch[1] if batch else None)
    return list(files.values())
