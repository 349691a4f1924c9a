"""Generated users: each is either refused with a clear error, or written valid by the schema and read back as written.

This is what ties the writer's own rules (``alma_onelink/sis/_rules.py``) to Ex Libris' schema: a user the
rules let through must validate against ``rest_users.xsd``.
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree  # type: ignore[import-untyped]

from alma_onelink.errors import InputError
from alma_onelink.models import User
from alma_onelink.sis import read_sis_file, sis_record, write_sis_file

XSD = Path(__file__).resolve().parent / "xsd" / "rest_users.xsd"
SCHEMA = etree.XMLSchema(etree.parse(str(XSD)))

TEXT = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=6),
    st.sampled_from(["Zoë", "北京", "O'Brien & <Co>", "a\r\nb", " padded ", "", "x" * 255, "x" * 256, "\x07"]),
)
CODE = st.one_of(TEXT, st.fixed_dictionaries({"value": TEXT}, optional={"desc": TEXT}))
BOOL = st.booleans()
DATE = st.dates().map(lambda day: day.isoformat() + "Z")
SEGMENT = st.sampled_from(["External", "Internal", "SomethingTooLong"])


def obj(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=fields)


EMAIL = obj(email_address=TEXT, email_type=st.lists(CODE, max_size=2), preferred=BOOL, segment_type=SEGMENT)
PHONE = obj(phone_number=TEXT, phone_type=st.lists(CODE, max_size=2), preferred=BOOL, preferred_sms=BOOL)
ADDRESS = obj(line1=TEXT, city=TEXT, postal_code=TEXT, country=CODE, address_type=st.lists(CODE, max_size=1))
USER = st.fixed_dictionaries(
    {"primary_id": st.one_of(TEXT, st.sampled_from(["P1", "p1", "0123456"]))},
    optional={
        "first_name": TEXT,
        "last_name": TEXT,
        "user_group": CODE,
        "campus_code": CODE,
        "expiry_date": DATE,
        "purge_date": DATE,
        "record_type": CODE,
        "account_type": CODE,
        "status": CODE,
        "password": TEXT,
        "full_name": TEXT,
        "contact_info": obj(
            email=st.lists(EMAIL, max_size=2), phone=st.lists(PHONE, max_size=1), address=st.lists(ADDRESS, max_size=1)
        ),
        "user_identifier": st.lists(obj(id_type=CODE, value=TEXT, note=TEXT, segment_type=SEGMENT), max_size=2),
        "user_note": st.lists(obj(note_type=CODE, note_text=TEXT, user_viewable=BOOL), max_size=2),
        "user_statistic": st.lists(obj(statistic_category=CODE, statistic_note=TEXT), max_size=1),
        "x_unknown": TEXT,
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(USER, min_size=1, max_size=3))
def test_a_user_is_either_refused_or_written_valid_and_read_back(records: list[dict[str, Any]]) -> None:
    users = [User.from_alma(record) for record in records]
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "out.zip"
        try:
            written = write_sis_file(users, target)
        except InputError as refused:
            message = str(refused)
            assert message.startswith("No SIS file was written"), message
            assert not target.exists()
            return
        with zipfile.ZipFile(target) as archive:
            for name in archive.namelist():
                document = etree.fromstring(archive.read(name))
                assert SCHEMA.validate(document), SCHEMA.error_log.last_error
        assert [u.to_alma() for u in read_sis_file(target)] == [sis_record(u).to_alma() for u in users]
        assert written.primary_ids == tuple(u.primary_id for u in users)
