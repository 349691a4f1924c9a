"""``batch FILE --sis-file OUT.zip`` and ``batch FILE --reconcile``: Alma's own bulk path, past the daily quota.

``--sis-file``: each patron is searched for in Alma as a registration would (a dry run, within the
daily budget); the new accounts go in OUT.zip for Alma's SIS load (``alma_onelink.onelink.handoff``),
those past the budget unsearched and said so; each hand-off is journaled, pending. ``--reconcile``:
each hand-off of the file's patrons is read in Alma (1 call, within the budget) and settled once
Alma holds the account.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._batch import progress_bar, quota_line
from ._batch_rows import HANDED_OFF, LOADED, NOT_HANDED_OFF, NOT_STARTED, SUPERSEDED, WAITING, BatchRun, result_summary
from ._batch_rows import row_summary as row
from ._state import UsageProblem, check_file_path

if TYPE_CHECKING:
    from alma_onelink.onelink import RegistrationResult
    from alma_onelink.onelink.handoff import Reconciled
    from alma_onelink.policy import Patron

__all__ = ["check_sis_path", "hand_off_rows", "reconcile_rows"]

Good = list[tuple[int, "Patron"]]
"""The file's readable rows: (line, patron)."""


def check_sis_path(path: Path) -> Path:
    """``path`` if a new SIS file can be written there: a ``.zip`` not there yet, in a folder that exists."""
    target = check_file_path(path, "--sis-file", what="a .zip file")
    if target.suffix.lower() != ".zip":
        raise UsageProblem(
            f"--sis-file {str(path)!r}: Alma's SIS load reads zip files", "like --sis-file onelink-new-accounts.zip"
        )
    if target.exists():
        raise UsageProblem(
            f"--sis-file {str(path)!r} already exists",
            "give a new name: a file that may be with Alma is never replaced",
        )
    return target


_NEEDS_FILE, _NEEDS_API, _AS_IS = "file", "api", "as_is"


def _planned(result: RegistrationResult) -> list[str]:
    """The names of the writes the dry run planned (``move_identifier``, ``create``, ``update``), in order."""
    return [step.name for step in result.steps if step.status == "planned"]


def handoff_kind(result: RegistrationResult) -> str:
    """Where a patron's dry-run result goes: ``"file"`` (a new account, nothing else to write), ``"api"``
    (a renewal or a OneLink ID to move off an old account: only Alma's API does it) or ``"as_is"``
    (nothing to write: already registered, an old account still to merge, blocked, failed)."""
    planned = _planned(result)
    if result.user is not None and (planned == ["create"] or (not planned and result.outcome == "created")):
        return _NEEDS_FILE  # ``created`` without steps: not searched (the daily budget was spent)
    return _NEEDS_API if planned else _AS_IS


def _needs_api(result: RegistrationResult) -> str:
    planned = _planned(result)
    if "move_identifier" in planned:
        what = f"moving the OneLink ID off {result.merge_from}" if result.merge_from else "moving the OneLink ID"
    elif "update" in planned:
        what = "renewing the account"
    else:
        what = "this registration"
    return (
        f"not done: {what} needs Alma's API, and a SIS file only creates new accounts; run the same file again "
        "without --sis-file (after Alma's daily reset if the quota is short)"
    )


def hand_off_rows(run: BatchRun, path: Path) -> dict[str, Any]:
    """Search, build, write OUT.zip and journal the hand-off; every row shown; what the summary adds."""
    from alma_onelink.engine import JournalError  # noqa: PLC0415
    from alma_onelink.errors import InputError  # noqa: PLC0415
    from alma_onelink.onelink import register_many  # noqa: PLC0415
    from alma_onelink.onelink.budget import estimate_quota  # noqa: PLC0415
    from alma_onelink.onelink.handoff import NOT_SEARCHED, hand_off, handoffs, unsearched  # noqa: PLC0415
    from alma_onelink.sis import SisFileError  # noqa: PLC0415

    state, policy, good, shown, reserve = run.state, run.policy, run.good, run.shown, run.reserve
    today = run.day or policy.today()
    journal, prefix, alma = state.journal(), state.command_prefix(), state.alma()
    reconcile_command = f"{prefix} batch {run.source} --reconcile"
    waiting = {key.casefold(): entry for key, entry in handoffs(journal, [p.onelink_id for _, p in good]).items()}
    waiting = {key: entry for key, entry in waiting.items() if entry.is_unsettled}
    fresh: Good = []
    for line, patron in good:
        entry = waiting.get(patron.onelink_id.strip().casefold())
        if entry is None:
            fresh.append((line, patron))
            continue
        why = (
            f"already handed off in a SIS file on {entry.time:%Y-%m-%d} (journal entry {entry.id[:12]}), waiting for "
            f"Alma's load; `{reconcile_command}` checks it"
        )
        shown.add(row(line, patron, HANDED_OFF, why, account=entry.target))
    estimate = estimate_quota(alma, policy, len(fresh), reserve=reserve, dry_run=True)
    if fresh:
        fallback = "the others go in the file without being searched, each with a warning."
        what = f"searching Alma for {len(fresh):,} patron(s) before writing the SIS file"
        state.out.note(quota_line(estimate, what=what, fallback=fallback))
    results: list[RegistrationResult] = []
    with progress_bar(state, "searching Alma") as progress:
        task = progress.add_task("searching", total=len(fresh))
        for result in register_many(
            alma,
            policy,
            [patron for _, patron in fresh],
            concurrency=run.concurrency,
            journal=state.journal_path(),
            today=today,
            dry_run=True,
            staff=state.staff,
            reserve=reserve,
        ):
            results.append(result)
            progress.advance(task)
    first_line = run.first_lines()
    to_file: list[tuple[int, RegistrationResult]] = []
    api, unsearched_count = 0, 0
    for searched in sorted(results, key=lambda r: r.index or 0):
        line = fresh[searched.index or 0][0]
        result = searched
        if searched.outcome == "deferred":
            result = unsearched(policy, searched.patron, today=today, index=searched.index)
        kind = handoff_kind(result)
        if kind == _NEEDS_FILE:
            to_file.append((line, result))
            unsearched_count += any(issue.code == NOT_SEARCHED for issue in result.issues)
            continue
        summary = result_summary(result, line, first_line, prefix, dry_run=False)
        if kind == _NEEDS_API:
            api += 1
            summary.update(outcome="deferred", reason=_needs_api(result))
        shown.add(summary, {"line": line, **result.to_dict(), **summary})
    extra: dict[str, Any] = {"quota": {"reads": estimate.calls, "remaining_before": estimate.remaining,
                                       "remaining_after": alma.remaining_daily_calls, "reserve": reserve}}  # fmt: skip
    next_steps: list[str] = []
    if api:
        next_steps.append(
            f"{api} patron(s) need Alma's API (a renewal, or a OneLink ID to move off an old account): run the same "
            "file again without --sis-file."
        )
    extra["next"] = next_steps
    if not to_file:
        next_steps.insert(0, f"No new account to hand off: no SIS file was written ({path} was not made).")
        return extra
    try:
        handed = hand_off(
            [r.user for _, r in to_file if r.user is not None],
            path,
            journal=journal,
            staff=state.staff,
            source=run.source,
        )
    except (JournalError, SisFileError, InputError) as exc:
        for line, result in to_file:
            shown.add(row(line, result.patron, NOT_STARTED, f"not handed off: {exc}"))
        if isinstance(exc, JournalError):
            extra["stopped"] = exc
            return extra
        raise UsageProblem(
            f"--sis-file {str(path)!r}: {exc}", "nothing was handed off; fix the cause, then run the same command again"
        ) from exc
    entries = {entry.target.casefold(): entry for entry in handed.entries}
    for line, result in to_file:
        summary = result_summary(result, line, first_line, prefix, dry_run=False)
        not_searched = any(issue.code == NOT_SEARCHED for issue in result.issues)
        reason = f"in {handed.file.path.name} for Alma's SIS load" + (
            "; Alma was not searched first (the daily budget was spent): search it by email and name for an "
            "older account of this patron"
            if not_searched
            else ""
        )
        if result.merge_from:
            reason += f"; once Alma has loaded it, merge {result.merge_from} into it (the patron's older account)"
        entry = entries.get((result.user.primary_id or "").casefold()) if result.user is not None else None
        summary.update(outcome=HANDED_OFF, reason=reason, sis_file=str(handed.file.path))
        full = {"line": line, **result.to_dict(), **summary, "journal_entry": entry.id if entry else None}
        shown.add(summary, full)
    written = handed.file
    extra["sis_file"] = {"path": str(written.path), "sha256": written.sha256, "users": written.user_count,
                         "members": list(written.member_names)}  # fmt: skip
    done = (
        f"Wrote {written.path}: {written.user_count:,} new account(s) in {len(written.members)} XML file(s), sha256 "
        f"{written.sha256}; each hand-off is in the journal, pending until Alma has loaded it. Put the file in the "
        "folder of Alma's SIS import profile (see the docs page \"SIS import files\"); once Alma's job has loaded it, "
        f"run `{reconcile_command}`."
    )
    next_steps.insert(0, done)
    if unsearched_count:
        next_steps.insert(
            1,
            f"{unsearched_count} account(s) went in the file without Alma being searched (the daily budget was "
            "spent): Alma's load skips a OneLink ID that exists, but not an older account under another id. Their "
            "rows say so.",
        )
    return extra


_SAID: dict[str, str] = {
    LOADED: "Alma holds the account handed off in the SIS file",
    WAITING: "not in Alma yet: its SIS job has not loaded the file, or refused this account; read the job's report "
    "in Alma (Admin > Monitor Jobs > History), then run the same command again",
    "deferred": "not checked, to keep Alma's daily quota; run the same command again after Alma's daily reset",
}


def _reconciled_row(line: int, patron: Patron, checked: Reconciled) -> dict[str, Any]:
    if checked.state == "failed":
        reason = f"the read failed: {checked.error}"
    elif checked.state == SUPERSEDED:
        reason = checked.entry.note or "created through Alma's API after the hand-off: take it out of the SIS file"
    else:
        reason = _SAID[checked.state]
        if checked.state == LOADED and checked.entry.result == "failed":
            reason += (
                "; its journal entry says failed: it was settled by reading Alma before Alma loaded the file "
                "(`journal settle`, or a registration of the patron)"
            )
        elif checked.state == LOADED:
            reason += "; its journal entry is settled now" if checked.settled_now else "; settled before"
    return row(line, patron, checked.state, reason, account=checked.target, journal_entry=checked.entry.id)


def reconcile_rows(run: BatchRun) -> dict[str, Any]:
    """Read each hand-off of the file's patrons in Alma and settle those loaded; every row shown."""
    from alma_onelink.engine import JournalError  # noqa: PLC0415
    from alma_onelink.onelink.budget import read_remaining  # noqa: PLC0415
    from alma_onelink.onelink.handoff import handoffs, reconcile  # noqa: PLC0415

    state, shown, reserve = run.state, run.shown, run.reserve
    journal = state.journal()
    lines: dict[str, list[tuple[int, Patron]]] = {}
    for line, patron in run.good:
        lines.setdefault(patron.onelink_id.strip().casefold(), []).append((line, patron))
    found = handoffs(journal, list(lines))
    to_read = sum(1 for entry in found.values() if entry.result != "done")
    extra: dict[str, Any] = {"next": []}
    if not found:
        extra["next"] = [
            f"No patron of {run.source} was handed off in a SIS file in the journal {journal.path}: check --journal, "
            "or write the file first with --sis-file OUT.zip."
        ]
        extra["nothing_found"] = True
    alma = state.alma() if found else None
    if alma is not None and to_read:
        state.out.note(_reads_line(read_remaining(alma), to_read, reserve))
    seen: set[str] = set()
    try:
        if alma is not None:
            checks = reconcile(alma, journal=journal, targets=found, reserve=reserve, concurrency=run.concurrency)
            for checked in checks:
                key = checked.target.strip().casefold()
                seen.add(key)
                for line, patron in lines.get(key, []):
                    shown.add(_reconciled_row(line, patron, checked))
    except JournalError as exc:
        extra["stopped"] = exc
    handed = {key.casefold() for key in found}
    for key, patrons in lines.items():
        if key in seen:
            continue
        for line, patron in patrons:
            if key in handed:  # the journal failed before this one was checked
                shown.add(row(line, patron, NOT_STARTED, "not checked: the journal could not be written"))
            else:
                shown.add(
                    row(line, patron, NOT_HANDED_OFF, "no hand-off of this OneLink ID in a SIS file in the journal")
                )
    counts = shown.counts
    if counts["deferred"]:
        extra["next"].append(
            f"{counts['deferred']} account(s) not checked, to keep Alma's daily quota: run the same command again "
            "after Alma's daily reset."
        )
    if counts[WAITING]:
        extra["next"].append(f"{counts[WAITING]} account(s) not loaded by Alma yet: run the same command again later.")
    elif counts[LOADED] and not counts["deferred"] and not counts["failed"]:
        extra["next"].append("Every account handed off is in Alma; their journal entries are settled.")
    if alma is not None:
        extra["quota"] = {"reads": to_read, "remaining_after": alma.remaining_daily_calls, "reserve": reserve}
    return extra


def _reads_line(left: int | None, reads: int, reserve: int) -> str:
    head = f"Alma's daily quota: checking {reads:,} account(s) takes {reads:,} read(s)"
    if left is None:
        return head + "; Alma did not say how many calls are left today, so the check runs without the daily budget."
    usable = max(left - reserve, 0)
    fits = "it fits." if usable >= reads else f"about {usable:,} fit today; the others are deferred."
    return head + f"; Alma says {left:,} are left today and {reserve:,} are kept in reserve (--reserve): {fits}"
