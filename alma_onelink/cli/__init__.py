"""The ``alma-onelink`` command (typer + rich): register patrons, batch, users, merges, the journal, policies,
the sandbox and the demo.

``app`` is the typer app (for ``typer alma_onelink.cli utils docs`` and tests); ``main(argv)`` runs
it and returns the exit status (`ExitCode`). Each module holds one command group.
"""

from ._stopped import started_as_the_command, stopped_at_start_up

try:
    from . import _batch, _demo, _journal, _merge, _policies, _register, _sandbox, _user
    from ._app import app, main
    from ._help import use_desk_help
    from ._state import DEFAULT_PATRONS, MAX_PATRONS, ExitCode
except KeyboardInterrupt:
    if not started_as_the_command():
        raise  # imported by a program: its Ctrl-C is its own
    stopped_at_start_up()  # Ctrl-C while the command loads: one line and exit 130, not a traceback

__all__ = ["DEFAULT_PATRONS", "MAX_PATRONS", "ExitCode", "app", "main"]

# Imported for their commands, which register themselves on `app`.
_COMMAND_MODULES = (_register, _batch, _user, _merge, _journal, _policies, _sandbox, _demo)
use_desk_help(app)  # every group's --help laid out like the commands' (see _help)
