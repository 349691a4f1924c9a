"""Facts about Alma shared by every layer (the client and the sandbox alike); imports nothing."""

API_PATH = "/almaws/v1"
"""The path every Alma REST API lives under, on every regional gateway."""

PROTECTED_FIELDS = {
    "user_group": "user_group",
    "job_category": "job_category",
    "pin_number": "pin_number",
    "preferred_language": "preferred_language",
    "campus_code": "campus_code",
    "rs_libraries": "rs_library",
    "user_title": "user_title",
    "library_notices": "library_notice",
    "pref_first_name": "pref_first_name",
    "pref_middle_name": "pref_middle_name",
    "pref_last_name": "pref_last_name",
    "cataloger_level": "cataloger_level",
}
"""The fields Alma protects on an external user: a PUT replaces them only when named in ``override``
(ALMA_USERS_API.md §5.4). Each ``override`` name → the key of the field in the user record."""
