"""What one command run shares: the settings from the global options, the target (Alma or the sandbox),
the policy and the journal, opened lazily and closed once; exit codes and the two errors commands raise.
"""

from __future__ import annotations

import enum
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import typer

from alma_onelink._text import describe, unsafe_characters
from alma_onelink.errors import InputError

from ._output import Output
from ._sdk import DEMO_DEFAULT_PATRONS
from ._usage import SQLITE_PATH_BYTES, UsageProblem, check_db_path, check_file_path, sandbox_db_problem

if TYPE_CHECKING:
    from alma_onelink import AlmaClient
    from alma_onelink.onelink import Journal
    from alma_onelink.policy import Policy
    from alma_onelink.sandbox import Sandbox

__all__ = [
    "DEFAULT_PATRONS",
    "MAX_PATRONS",
    "OUTCOME_EXIT",
    "SQLITE_PATH_BYTES",
    "ExitCode",
    "Settings",
    "State",
    "UsageProblem",
    "check_db_path",
    "check_file_path",
    "default_policy",
    "default_staff",
    "open_sandbox",
    "sandbox_db_problem",
    "state_of",
]

DEFAULT_PATRONS: Final = DEMO_DEFAULT_PATRONS
"""Generated patrons in a new sandbox, for ``sandbox serve``, ``sandbox seed``, ``demo`` and the default target:
the demo's own number (`Sandbox.demo`'s default), written where the help can show it without loading the demo."""

MAX_PATRONS: Final = 5000
"""The most patrons one ``--patrons`` may ask for (about 8 s of seeding); ``sandbox seed`` again adds more."""


class ExitCode(enum.IntEnum):
    """What the exit status says. Documented in ``--help`` and docs/cli.md."""

    OK = 0
    """Done."""
    ACTION = 1
    """Done, but a person must act: ``needs_merge``, ``blocked``, a refused merge or restore, not eligible."""
    USAGE = 2
    """What was typed cannot be used: a bad flag or value, a missing file, an unknown policy."""
    ALMA = 3
    """Alma (or the network, or the sandbox server) answered with an error or not at all."""
    JOURNAL = 4
    """The journal could not be written: Alma may hold writes the journal lacks; the message says which."""
    INTERRUPTED = 130
    """Ctrl-C."""
    BROKEN_PIPE = 141
    """Whoever read the output stopped reading (``| head``)."""


OUTCOME_EXIT: Final[dict[str, ExitCode]] = {
    "created": ExitCode.OK,
    "renewed": ExitCode.OK,
    "already_registered": ExitCode.OK,
    "needs_merge": ExitCode.ACTION,
    "blocked": ExitCode.ACTION,
    "failed": ExitCode.ALMA,
    "deferred": ExitCode.ACTION,  # not started, to keep Alma's daily quota: run again after the reset
}
"""The exit status of a registration's outcome (an `Outcome`, or its value: the keys are the values, so this
module loads nothing of the SDK)."""


# --- settings and the target -------------------------------------------------------------------------


def _home_short(path: Path) -> str:
    try:
        return f"~/{path.relative_to(Path.home())}"
    except ValueError:
        return str(path)


def _stdin_is_terminal() -> bool:
    # One place to ask, so tests can stand in for a terminal.
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError, OSError):
        return False


@dataclass(frozen=True)
class Settings:
    """The global options, resolved (environment and defaults applied)."""

    api_key: str | None = field(default=None, repr=False)
    api_key_source: str = "--api-key"
    base_url: str | None = field(default=None, repr=False)  # as typed: it may hold the key (it is then refused)
    region: str | None = None
    db: Path | None = None
    policy: str | None = None
    journal: Path | None = None
    staff: str | None = None
    json: bool = False
    debug: bool = False
    verbose: bool = False
    given: tuple[str, ...] = field(default=(), repr=False)
    """Global options typed on the command line, as ``("--db", "x.sqlite3", …)``, for commands we print."""

    def __post_init__(self) -> None:
        if self.staff is not None and (unsafe := unsafe_characters(self.staff)):
            # One check for every command: the name is journaled with each write and shown in notes in Alma.
            raise typer.BadParameter(
                f"the name holds {describe(unsafe)}; type it as plain text, like --staff 'Ann Lee'",
                param_hint="'--staff'",
            )
        if self.base_url and self.api_key is None and "--base-url" in self.given:
            # Without a key commands go to the local sandbox: a typed --base-url would be silently ignored.
            raise typer.BadParameter("needs an API key: set ALMA_API_KEY or give --api-key", param_hint="'--base-url'")

    @property
    def db_path(self) -> Path:
        """The persistent sandbox's SQLite file."""
        from alma_onelink.sandbox import default_db_path  # noqa: PLC0415  (the emulator loads only when used)

        return self.db if self.db is not None else default_db_path()

    @property
    def uses_alma(self) -> bool:
        """Whether commands go to Alma (a key is set) rather than the local sandbox."""
        return self.api_key is not None

    def alma_origin(self) -> str:
        """The Alma gateway commands go to (``--base-url``, or the region's). Never the key: a base URL the
        client would refuse (one that holds a key, a user name, a query) shows only its scheme and host."""
        if self.base_url:
            from alma_onelink._config import shown_base_url  # noqa: PLC0415  (loaded when Alma is the target)

            return shown_base_url(self.base_url, self.api_key)
        from alma_onelink import REGIONS  # noqa: PLC0415  (the client's settings: loaded when Alma is the target)

        return REGIONS.get((self.region or "na").strip().lower(), f"(unknown region {self.region!r})")

    def shown_given(self) -> tuple[str, ...]:
        """`given`, with a ``--base-url`` the client refuses written as ``--base-url URL``: a base URL is echoed
        only as it was typed and taken (a refused one may hold the key, and a shortened one cannot be copied)."""
        if not self.base_url or "--base-url" not in self.given:
            return self.given
        from alma_onelink._config import check_base_url  # noqa: PLC0415  (loaded when Alma is the target)

        try:
            check_base_url(self.base_url, self.api_key)
        except InputError:
            at = self.given.index("--base-url")
            return (*self.given[:at], "--base-url", "URL", *self.given[at + 2 :])
        return self.given

    def target_line(self) -> str:
        """The banner: where commands go. Never the key."""
        if self.uses_alma:
            return f"Alma at {self.alma_origin()} (key from {self.api_key_source})"
        return f"Sandbox at {_home_short(self.db_path.expanduser().absolute())} (no ALMA_API_KEY set)"


class State:
    """What one command run shares: settings, output, and the client, sandbox, policy and journal (opened lazily)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.out = Output(json_mode=settings.json, verbose=settings.verbose)
        self._sandbox: Sandbox | None = None
        self._alma: AlmaClient | None = None
        self._policy: Policy | None = None
        self._journal: Journal | None = None

    def begin(self) -> None:
        """What a command does first: with ``--debug``, the SDK's log goes to stderr."""
        if self.settings.debug:
            _debug_logging()

    @property
    def interactive(self) -> bool:
        """Whether to ask questions: stdin is a terminal and the output is not ``--json``."""
        return not self.settings.json and _stdin_is_terminal()

    @property
    def staff(self) -> str | None:
        """Who is at the keyboard, for the journal."""
        return self.settings.staff

    def alma(self) -> AlmaClient:
        """The client on the target: Alma when a key is set, else the persistent sandbox (seeded on first use)."""
        if self._alma is not None:
            return self._alma
        from alma_onelink import AlmaClient  # noqa: PLC0415

        s = self.settings
        if s.uses_alma:
            self._alma = AlmaClient(api_key=s.api_key, base_url=s.base_url, region=None if s.base_url else s.region)
        else:
            # The local sandbox has no per-second threshold: it is for practice, and a batch should not crawl.
            self._alma = AlmaClient.sandbox(self.sandbox(), rate_limit=None)
        return self._alma

    def sandbox(self) -> Sandbox:
        """The persistent sandbox at ``--db``, seeded with the demo data if it is new or empty."""
        if self._sandbox is None:
            self._sandbox = open_sandbox(self.settings.db, per_second_limit=None)
        return self._sandbox

    def policy(self) -> Policy:
        """The policy named by ``--policy`` (loaded once)."""
        if self._policy is None:
            from alma_onelink.policy import load_policy  # noqa: PLC0415

            self._policy = load_policy(self.settings.policy or default_policy())
        return self._policy

    def journal_path(self) -> Path | None:
        """``--journal``, checked; ``None`` for the workflow's default journal."""
        path = self.settings.journal
        return check_file_path(path, "--journal", what="a JSON Lines file") if path is not None else None

    def journal(self) -> Journal:
        """The journal at ``--journal``, or the workflow's default one."""
        if self._journal is None:
            from alma_onelink.onelink import Journal  # noqa: PLC0415

            self._journal = Journal(self.journal_path())
        return self._journal

    def command_prefix(self) -> str:
        """``alma-onelink`` with the global options typed this time that change where commands go (never the key)."""
        return " ".join(["alma-onelink", *self.settings.shown_given()])

    def close(self) -> None:
        """Close the client and the sandbox; safe to call twice."""
        alma, self._alma = self._alma, None
        sandbox, self._sandbox = self._sandbox, None
        try:
            if alma is not None:
                alma.close()
        finally:
            if sandbox is not None:
                sandbox.close()


def open_sandbox(db: Path | None, *, patrons: int = DEFAULT_PATRONS, seed: int = 0, **options: Any) -> Sandbox:
    """The sandbox whose SQLite file is ``db`` (default: the per-user data folder), seeded if new or empty.

    Raises `UsageProblem` for a ``db`` that is a folder, in a missing folder, or not a database.
    """
    import sqlite3  # noqa: PLC0415  (the emulator and its store load when a command runs, not for --help)

    from alma_onelink.sandbox import Sandbox  # noqa: PLC0415

    path = check_db_path(db)
    try:
        return Sandbox.demo(patrons=patrons, seed=seed, db_path=path, **options)
    except (sqlite3.Error, OSError) as exc:
        raise sandbox_db_problem(path, exc) from exc


def _debug_logging() -> None:
    import logging  # noqa: PLC0415

    logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")


def default_policy() -> str:
    """``$ALMA_ONELINK_POLICY``, else ``duke`` when installed, else ``default``."""
    from alma_onelink.policy import DEFAULT_POLICY, available_policies  # noqa: PLC0415

    configured = os.environ.get("ALMA_ONELINK_POLICY", "").strip()
    if configured:
        return configured
    return "duke" if "duke" in available_policies() else DEFAULT_POLICY


def default_staff() -> str | None:
    configured = os.environ.get("ALMA_ONELINK_STAFF", "").strip()
    if configured:
        return configured
    import getpass  # noqa: PLC0415  (when a command runs, not for --help)

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name to be found (a container without /etc/passwd entry)
        return None


def state_of(ctx: typer.Context) -> State:
    """The `State` the global options made (a default one when a command runs on its own, as in tests)."""
    root = ctx.find_root()
    if not isinstance(root.obj, State):
        root.obj = State(Settings(staff=default_staff()))
    return root.obj
