"""Alma's own bulk path for new accounts: SIS import files (a zip of ``<users>`` XML, ``rest_users.xsd``).

Past the daily API quota, the accounts a batch would create are written to a file that Alma's
"Users" integration profile loads (see the docs page "SIS import files"):

```python
from alma_onelink.sis import read_sis_file, write_sis_file

written = write_sis_file(users, "onelink-new-accounts.zip")   # users: User records, built by the policy
written.member_names, written.primary_ids                        # what the journal records
read_sis_file(written.path)                                      # the users back, for reconciliation
```

The package depends on the models and the errors only (no client, no sandbox, no policy); registration
(`alma_onelink.onelink.handoff`) and the command build on it. Its names are imported on first use, so
``import alma_onelink.sis`` loads nothing of pydantic until a name is used.
"""

from typing import TYPE_CHECKING

from alma_onelink._lazy import lazy_names

if TYPE_CHECKING:
    from ._read import read_sis_file
    from ._write import MAX_USERS_PER_FILE, SisFile, SisFileError, SisMember, sis_record, write_sis_file
else:
    __getattr__, __dir__ = lazy_names(
        __name__,
        {
            "._read": ("read_sis_file",),
            "._write": ("MAX_USERS_PER_FILE", "SisFile", "SisFileError", "SisMember", "sis_record", "write_sis_file"),
        },
    )

__all__ = [
    "MAX_USERS_PER_FILE",
    "SisFile",
    "SisFileError",
    "SisMember",
    "read_sis_file",
    "sis_record",
    "write_sis_file",
]
