"""The notebooks in docs/notebooks run, top to bottom, against the sandbox, and are stored clean.

Each is executed with nbclient on a kernel of this very interpreter (a kernelspec written to the
test's temporary folder), so it sees the package as installed in this venv whatever kernels the
machine has. Every cell must run without error, and the outputs must say what the fixes did.

Nothing here depends on the machine's load or the temporary folder's path: the kernel talks over
Unix sockets in Linux's abstract namespace (no TCP port to race another process for, no socket file
whose path could be too long), and every wait is for an event, with `HANG` seconds only as the bound
that turns a hung kernel into a failure (a slow machine waits longer, it never loses output: a late
output is an error, not a cell shown empty).
"""

from __future__ import annotations

import gc
import json
import sys
import uuid
import warnings
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from alma_onelink.onelink import default_journal_path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "docs" / "notebooks").glob("*.ipynb"))
AD_HOC = ROOT / "docs" / "notebooks" / "ad-hoc-fixes.ipynb"
KERNEL = "alma-onelink-tests"
HANG = 600
"""Seconds after which a kernel that has not started, or a cell that has not finished or sent its output, is
a failure. Only a hung kernel gets there: the notebook runs in seconds."""


def kernel_manager(folder: Path) -> KernelManager:
    """A kernel manager for a kernelspec that runs ``sys.executable`` (this venv's python).

    On Linux the kernel's sockets are in the abstract namespace (``ipc://@…``): no port is picked
    and released for the kernel to bind later (another process may take it meanwhile), and no
    socket file lives under the temporary folder, whose path may exceed a socket path's limit.
    """
    spec = folder / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "alma-onelink tests", "language": "python"}), encoding="utf-8"
    )
    specs = KernelSpecManager(kernel_dirs=[str(folder / "kernels")], ensure_native_kernel=False)
    manager = KernelManager(kernel_name=KERNEL, kernel_spec_manager=specs)
    manager.connection_file = str(folder / "kernel-connection.json")
    if sys.platform.startswith("linux"):
        manager.transport = "ipc"
        manager.ip = f"@alma-onelink-tests-{uuid.uuid4().hex}"
    return manager


def read(path: Path) -> nbformat.NotebookNode:
    """A notebook, as nbformat 4."""
    notebook: nbformat.NotebookNode = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    return notebook


def outputs(cell: Any) -> str:
    """What a code cell showed: its streams, and the text and HTML of what it displayed."""
    shown = []
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            shown.append(output["text"])
        elif "data" in output:
            shown += [output["data"].get("text/plain", ""), output["data"].get("text/html", "")]
    return "\n".join(shown)


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> nbformat.NotebookNode:
    folder = tmp_path_factory.mktemp("notebook")
    with pytest.MonkeyPatch.context() as patch:
        # The kernel inherits these: its temporary files and default journal stay in the test's folder,
        # and the Duke policy is the shipped one.
        patch.setenv("TMPDIR", str(folder))
        patch.setenv("ALMA_ONELINK_JOURNAL", str(folder / "default-journal.jsonl"))
        patch.delenv("ALMA_ONELINK_DUKE_CONFIG", raising=False)
        for name in ("ALMA_API_KEY", "ALMA_REGION", "ALMA_BASE_URL"):
            patch.delenv(name, raising=False)
        notebook = read(AD_HOC)
        client = NotebookClient(
            notebook,
            km=kernel_manager(folder),
            timeout=HANG,  # per cell
            startup_timeout=HANG,
            iopub_timeout=HANG,  # a cell's output waited for, never dropped (nbclient waits 4 s by default)
            raise_on_iopub_timeout=True,
            resources={"metadata": {"path": str(folder)}},
        )
        try:
            client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
        finally:
            # The kernel is shut down; its client's zmq sockets are left to the garbage collector,
            # which warns of each (ResourceWarning). Collect them here, where that is expected.
            del client
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ResourceWarning)
                gc.collect()
        assert not (folder / "default-journal.jsonl").exists(), "the notebook must journal to its own file"
    return notebook


def test_there_are_notebooks() -> None:
    assert AD_HOC in NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_are_stored_clean(path: Path) -> None:
    notebook = read(path)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code), (
        f"{path.name} holds outputs: clear them before committing (Jupyter: Edit > Clear All Outputs)"
    )
    assert notebook.metadata["kernelspec"]["name"] == "python3"


def test_every_cell_runs(executed: nbformat.NotebookNode) -> None:
    code = [cell for cell in executed.cells if cell.cell_type == "code"]
    assert all(cell.execution_count is not None for cell in code)
    errors = [output for cell in code for output in cell.outputs if output["output_type"] == "error"]
    assert errors == []


def test_the_fixes_do_what_they_say(executed: nbformat.NotebookNode) -> None:
    shown = "\n".join(outputs(cell) for cell in executed.cells if cell.cell_type == "code")
    # A page renders as a table in the notebook, with where it is in the list.
    assert "page 1 of 6: users 1-8 of 47" in shown
    # 1. the ALUM group: three patrons, a dry run, then three journaled edits.
    assert "2028-05-14" in shown
    assert "journal entries: 3" in shown
    # 2. the slip is found and fixed.
    assert "DUKE_COMMUNITY" in shown
    assert "journal entries: 1" in shown
    assert "DUKE_TRLN (TRLN borrower)" in shown  # the user, rendered after the fix
    # 3. the note: ten graduate students, none left on a second dry run, one restored.
    assert "10 of 10 graduate students get the note (dry run: nothing written)" in shown
    assert "journal entries: 10" in shown
    assert "still to note: 0" in shown
    assert "put_back da69100" in shown
    # 4. two registrations, then the report of likely duplicates.
    assert "would create 2100003" in shown
    assert "3 likely duplicates to review" in shown
    for match in ("name: tobias whitfield", "name: kwame kowalski", "email: jane.doe@alumni.duke.edu"):
        assert match in shown
    # The journal after: every write, none pending.
    assert "journal entries: 17 | pending: 0" in shown
    assert not default_journal_path().exists()
