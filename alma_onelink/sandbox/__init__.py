"""An embedded Alma sandbox: a faithful emulator of the Ex Libris Alma Users REST API.

One sans-I/O handler (`handle`) serves three ways in: an ``httpx.MockTransport`` for
sync clients, one for async clients, and an ASGI app for real HTTP (``alma-onelink sandbox serve``).
The sandbox depends on ``alma_onelink.models``, ``alma_onelink.errors`` and ``alma_onelink._constants``
only, never on the client.
"""

from ._codefile import CodeFileError
from ._codes import CodeTables
from ._directory import SandboxUsers
from ._duke import DUKE_SCENARIOS, DUKE_UNIQUE_IDS
from ._faults import FAULT_KINDS, Faults, Knobs, ManualClock
from ._http import AlmaFailure, SandboxRequest, SandboxResponse
from ._log import LogEntry
from ._memory import MemoryStore
from ._sandbox import DEFAULT_BASE_URL, Sandbox, default_db_path
from ._sqlite import SqliteStore
from ._store import Store

__all__ = [
    "DEFAULT_BASE_URL",
    "DUKE_SCENARIOS",
    "DUKE_UNIQUE_IDS",
    "FAULT_KINDS",
    "AlmaFailure",
    "CodeFileError",
    "CodeTables",
    "Faults",
    "Knobs",
    "LogEntry",
    "ManualClock",
    "MemoryStore",
    "Sandbox",
    "SandboxRequest",
    "SandboxResponse",
    "SandboxUsers",
    "SqliteStore",
    "Store",
    "default_db_path",
]
