"""The code tables the sandbox knows: user groups, statistical categories, identifier types and more.

Alma validates some code fields against the institution's code tables and fills the ``desc`` of every
code on output. The defaults below are a generic institution plus the codes the Duke policy uses; tests
and plugin authors add their own with `add`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

__all__ = ["DEFAULT_TABLE_NAMES", "CodeTables"]

_DEFAULT_TABLES: dict[str, dict[str, str]] = {
    "UserGroups": {
        "UNDERGRAD": "Undergraduate",
        "GRAD": "Graduate student",
        "FACULTY": "Faculty",
        "STAFF": "Staff",
        "PUBLIC": "Public",
        "ALUM": "Alumni (generic)",
        "DUKE_ALUMNI": "Alumni",
        "DUKE_TRLN": "TRLN borrower",
        "DUKE_BORROWDIRECT": "BorrowDirect borrower",
        "DUKE_FRIENDS": "Friends of the Library",
        "DUKE_FORMER_AFFILIATE": "Former faculty/staff/sponsored",
        "DUKE_COMMUNITY": "Community borrower",
    },
    "UserStatisticalTypes": {
        "PATRON_TYPE": "Patron type",
        "DEPARTMENT": "Department",
    },
    "UserStatCategories": {
        "PT_ALUMNI": "Alumni",
        "PT_TRLN": "TRLN borrower",
        "PT_BORROWDIRECT": "BorrowDirect borrower",
        "PT_FRIENDS": "Friends of the Library",
        "PT_FORMER_FACULTY": "Former faculty",
        "PT_FORMER_STAFF": "Former staff",
        "PT_FORMER_SPONSORED": "Former sponsored researcher",
        "PT_COMMUNITY": "Community borrower",
        "PT_STUDENT": "Student",
        "PT_EMPLOYEE": "Employee",
        "PT_VISITOR": "Visitor",
        "DEPT_LIBRARY": "Libraries",
        "DEPT_HISTORY": "History",
        "DEPT_BIOLOGY": "Biology",
    },
    "UserIdentifierTypes": {
        "BARCODE": "Barcode",
        "UNIV_ID": "University ID",
        "NET_ID": "NetID",
        "DUKE_UNIQUE_ID": "Duke Unique ID",
    },
    "NoteTypes": {
        "CIRCULATION": "Circulation",
        "LIBRARY": "Library",
        "OTHER": "Other",
        "POPUP": "Pop-up",
    },
    "RecordTypes": {"PUBLIC": "Public", "STAFF": "Staff", "CONTACT": "Contact"},
    "AccountTypes": {"INTERNAL": "Internal", "EXTERNAL": "External"},
    "UserStatus": {"ACTIVE": "Active", "INACTIVE": "Inactive"},
    "UserEmailTypes": {"personal": "Personal", "work": "Work", "school": "School"},
    "UserPhoneTypes": {"home": "Home", "mobile": "Mobile", "office": "Office"},
    "UserAddressTypes": {"home": "Home", "work": "Work", "school": "School", "alternative": "Alternative"},
    "UserPreferredLanguage": {
        "en": "English",
        "es": "Spanish",
        "fr": "French",
        "de": "German",
        "zh": "Chinese",
        "ja": "Japanese",
        "ko": "Korean",
        "pt": "Portuguese",
    },
    "Genders": {"MALE": "Male", "FEMALE": "Female", "OTHER": "Other", "NONE": "None"},
    "UserTitles": {"Mr": "Mr.", "Ms": "Ms.", "Mrs": "Mrs.", "Mx": "Mx.", "Dr": "Dr.", "Prof": "Prof."},
    "JobTitles": {"LIBRARIAN": "Librarian", "RESEARCHER": "Researcher", "ADMIN": "Administrator"},
    "CampusCodes": {"MAIN": "Main campus", "EAST": "East campus", "MED": "Medical center"},
    "CatalogerLevel": {"00": "[00] Default Level"},
    "CountryCodes": {
        "USA": "United States",
        "CAN": "Canada",
        "MEX": "Mexico",
        "GBR": "United Kingdom",
        "DEU": "Germany",
        "FRA": "France",
        "NOR": "Norway",
        "CHN": "China",
        "JPN": "Japan",
        "IND": "India",
        "NGA": "Nigeria",
        "BRA": "Brazil",
    },
    "UserBlockTypes": {"GENERAL": "General", "LOAN": "Loan"},
    "UserBlockDescription": {
        "GENERAL": "General block",
        "OVERDUE": "Overdue items",
        "LOST": "Lost items",
        "FINES": "Unpaid fines",
    },
    "UserRoles": {"200": "Patron", "21": "Circulation Desk Operator", "51": "User Manager"},
    "UserRoleStatus": {"ACTIVE": "Active", "INACTIVE": "Inactive"},
    "RoleParameterTypes": {
        "CirculationDesk": "Circulation desk",
        "MetadataType": "Metadata type",
        "ServiceUnit": "Service unit",
        "CantEditRestrictedUsers": "Cannot edit restricted users",
    },
    # SIS profiles an EXTERNAL user's external_id must name.
    "ExternalSystems": {"SIS": "Student Information System", "IDMS": "Duke identity management"},
    "Libraries": {
        "PERKINS": "Perkins Library",
        "LILLY": "Lilly Library",
        "MUSIC": "Music Library",
        "LAW": "Goodson Law Library",
    },
    "CirculationDesks": {"DEFAULT_CIRC_DESK": "Main circulation desk", "RESERVES": "Reserves desk"},
    "FineFeeTypes": {
        "OVERDUEFINE": "Overdue fine",
        "LOSTITEMREPLACEMENTFEE": "Lost item replacement fee",
        "LOSTITEMPROCESSFEE": "Lost item process fee",
        "OTHER": "Other",
        "CREDIT": "Credit",
    },
    "FineFeeStatus": {
        "ACTIVE": "Active",
        "INDISPUTE": "In dispute",
        "EXPORTED": "Exported",
        "CLOSED": "Closed",
    },
    "LibraryNotices": {
        "FulUserBorrowingActivityLetter": "Borrowing activity letter",
        "FulUserOverdueNotice": "Overdue notice",
    },
    "RequestSubTypes": {"PATRON_PHYSICAL": "Patron physical item request", "BOOKING": "Booking request"},
}

DEFAULT_TABLE_NAMES = frozenset(_DEFAULT_TABLES)
"""The names of every code table the sandbox knows."""

# Which statistical type each category belongs to; Alma fills ``category_type`` from this on output.
_DEFAULT_CATEGORY_TYPES: dict[str, str] = {
    **{code: "PATRON_TYPE" for code in _DEFAULT_TABLES["UserStatCategories"] if code.startswith("PT_")},
    **{code: "DEPARTMENT" for code in _DEFAULT_TABLES["UserStatCategories"] if code.startswith("DEPT_")},
}


class CodeTables:
    """Named code tables (code → description), thread-safe and editable at run time.

    Table names follow Alma's where they exist (``UserGroups``, ``UserIdentifierTypes``,
    ``UserStatCategories``…). Lookups of codes ignore case, as Alma does for most tables.
    """

    def __init__(
        self,
        tables: Mapping[str, Mapping[str, str]] | None = None,
        *,
        category_types: Mapping[str, str] | None = None,
    ) -> None:
        """Start from ``tables`` (default: the built-in tables); ``category_types`` maps stat codes to types."""
        source = _DEFAULT_TABLES if tables is None else tables
        self._tables: dict[str, dict[str, str]] = {}
        # Per table, each code folded (casefold) → the first spelling added; kept current by add and remove.
        self._folded: dict[str, dict[str, str]] = {}
        self._category_types = dict(_DEFAULT_CATEGORY_TYPES if category_types is None else category_types)
        self._lock = threading.RLock()
        for table, rows in source.items():
            self._tables[table] = {}
            for code, desc in rows.items():
                self.add(table, code, desc)

    def add(self, table: str, code: str, desc: str, *, category_type: str | None = None) -> None:
        """Add or relabel ``code`` in ``table`` (creating the table); stat categories may name their type.

        A code already there in another case is relabelled under the spelling it has (Alma matches
        codes ignoring case, so the two would be one code).
        """
        with self._lock:
            code = self._folded.setdefault(table, {}).setdefault(code.casefold(), code)
            self._tables.setdefault(table, {})[code] = desc
            if category_type is not None:
                self._category_types[code] = category_type

    def remove(self, table: str, code: str) -> None:
        """Remove ``code`` from ``table`` (in any case); a code that is not there is ignored."""
        with self._lock:
            rows = self._tables.get(table, {})
            for key in [k for k in rows if k.casefold() == code.casefold()]:
                del rows[key]
            self._folded.get(table, {}).pop(code.casefold(), None)

    def lookup(self, table: str, code: str) -> tuple[str, str] | None:
        """``(code as the table spells it, description)``, matched ignoring case, or ``None`` if not there."""
        with self._lock:
            rows = self._tables.get(table, {})
            canonical = code if code in rows else self._folded.get(table, {}).get(code.casefold())
            return None if canonical is None else (canonical, rows[canonical])

    def canonical(self, table: str, code: str | None) -> str | None:
        """The code as the table spells it (matched ignoring case), or ``None`` if it is not there."""
        found = None if code is None else self.lookup(table, code)
        return None if found is None else found[0]

    def has(self, table: str, code: str | None) -> bool:
        """Whether ``code`` is in ``table`` (ignoring case)."""
        return self.canonical(table, code) is not None

    def desc(self, table: str, code: str | None) -> str:
        """The description of ``code`` in ``table``; ``""`` for a blank or unknown code."""
        found = None if code is None else self.lookup(table, code)
        return "" if found is None else found[1]

    def category_type(self, category: str | None) -> str | None:
        """The statistical type (``PATRON_TYPE``…) a category belongs to, if known."""
        canonical = self.canonical("UserStatCategories", category)
        with self._lock:
            return self._category_types.get(canonical or "")

    def codes(self, table: str) -> list[str]:
        """Every code of ``table``, in the order they were added."""
        with self._lock:
            return list(self._tables.get(table, {}))

    def __repr__(self) -> str:
        with self._lock:
            return f"CodeTables({len(self._tables)} tables, {len(self._tables.get('UserGroups', {}))} user groups)"
