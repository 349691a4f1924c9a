"""Alma error bodies are parsed once, and each maps to the right typed, readable, key-free error."""

from __future__ import annotations

import json
import traceback
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alma_onelink.errors import (
    AlmaError,
    AlmaErrorDetail,
    AlreadyExistsError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    DailyThresholdExceeded,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    error_for_response,
    parse_error_details,
)

EXAMPLES = Path(__file__).resolve().parent / "data" / "alma-examples"
PATH = "/almaws/v1/users/jdoe"
SECRET = "l8xx0123456789abcdef0123456789abcdef"


def example(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()


def json_error(code: str, message: str = "Something.", tracking_id: str | None = "E01-TRACK-1") -> bytes:
    """The real pulibrary error body, with another code, message and tracking id."""
    body: dict[str, Any] = json.loads(example("error_400_pulibrary.json"))
    error = body["errorList"]["error"][0]
    error.update(errorCode=code, errorMessage=message)
    if tracking_id is None:
        del error["trackingId"]
    else:
        error["trackingId"] = tracking_id
    return json.dumps(body).encode()


def xml_error(code: str, message: str = "Something.") -> bytes:
    """The real pulibrary XML error body (declaration, leading whitespace), with another code."""
    text = example("error_400_pulibrary.xml").decode()
    text = text.replace("402203", code).replace("Input parameters mmsId 1234 is not valid.", message)
    return text.encode()


# --- parse_error_details ---------------------------------------------------------------------------------


def test_parses_real_json_error() -> None:
    assert parse_error_details(example("error_400_pulibrary.json")) == [
        AlmaErrorDetail(
            code="402204",
            message="Input parameters mmsId banana is not numeric.",
            tracking_id="E01-0312225307-JJDGC-AWAE1735835386",
        )
    ]


def test_parses_real_xml_error_with_declaration_and_leading_whitespace() -> None:
    content = example("error_400_pulibrary.xml")
    assert content.startswith(b"<?xml")
    expected = [
        AlmaErrorDetail(
            code="402203",
            message="Input parameters mmsId 1234 is not valid.",
            tracking_id="E01-0212223205-P0XW8-AWAE584905282",
        )
    ]
    assert parse_error_details(content) == expected
    assert parse_error_details(content.decode()) == expected
    assert parse_error_details(b"\r\n  \t" + content) == expected


def test_json_and_xml_forms_of_the_same_error_agree() -> None:
    from_json = parse_error_details(example("scriptotek_error_response.json"))
    from_xml = parse_error_details(example("scriptotek_error_response.xml"))
    assert [(d.code, d.message) for d in from_json] == [("401664", "Mandatory field is missing: library")]
    assert [(d.code, d.message) for d in from_xml] == [("401664", "Mandatory field is missing: library")]
    assert from_xml[0].tracking_id == "E02-2807130150-8OWYS-AWAE533535741"


def test_missing_tracking_id_and_untrimmed_message() -> None:
    details = parse_error_details(example("scriptotek_per_second_threshold_error_response.json"))
    assert details == [
        AlmaErrorDetail(
            code="PER_SECOND_THRESHOLD",
            message="HTTP requests are more than allowed per second. See https://goo.gl/2x1c1M",
            tracking_id=None,
        )
    ]


def test_wrapped_form_with_a_single_error_object() -> None:
    content = json.dumps(
        {
            "web_service_result": {
                "errorsExist": True,
                "errorList": {
                    "error": {"errorCode": "401861", "errorMessage": "User with identifier X was not found."}
                },
            }
        }
    )
    assert parse_error_details(content) == [
        AlmaErrorDetail(code="401861", message="User with identifier X was not found.", tracking_id=None)
    ]


def test_single_error_object_instead_of_a_list() -> None:
    content = {
        "errorsExist": True,
        "errorList": {"error": {"errorCode": 401890, "errorMessage": "m", "trackingId": "T"}},
    }
    assert parse_error_details(json.dumps(content)) == [AlmaErrorDetail(code="401890", message="m", tracking_id="T")]


def test_every_error_of_a_list_is_kept_in_order() -> None:
    body = {
        "errorsExist": True,
        "errorList": {
            "error": [
                {"errorCode": "401664", "errorMessage": "Mandatory field is missing: last_name", "trackingId": "T1"},
                {"errorCode": "401852", "errorMessage": "Given user group is not legal.", "trackingId": "T2"},
            ]
        },
        "result": None,
    }
    assert [(d.code, d.tracking_id) for d in parse_error_details(json.dumps(body))] == [
        ("401664", "T1"),
        ("401852", "T2"),
    ]


def test_multiple_xml_errors_without_namespace() -> None:
    content = (
        "<web_service_result><errorsExist>true</errorsExist><errorList>"
        "<error><errorCode>1</errorCode><errorMessage> a </errorMessage></error>"
        "<error><errorCode>2</errorCode><errorMessage>b</errorMessage><trackingId>T</trackingId></error>"
        "</errorList></web_service_result>"
    )
    assert parse_error_details(content) == [
        AlmaErrorDetail(code="1", message="a", tracking_id=None),
        AlmaErrorDetail(code="2", message="b", tracking_id="T"),
    ]


@pytest.mark.parametrize(
    "content",
    [
        b"",
        "",
        b"   \n\t ",
        b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><hr></body></html>",
        b"<html><body><h1>Service Unavailable</h1>",
        b"<error>not an Alma error</error>",
        example("error_400_pulibrary.json")[:60],
        example("error_400_pulibrary.json")[:-3],
        example("error_400_pulibrary.xml")[:150],
        b'{"errorsExist": true, "errorList": null}',
        b'{"errorsExist": true, "errorList": {"error": "oops"}}',
        b'{"errorsExist": true, "errorList": {"error": [1, null, "x", {}]}}',
        b"[1, 2, 3]",
        b"null",
        b"Internal Server Error",
        b"\xff\xfe\x00\x00garbage\x80",
        b'{"user": [], "total_record_count": 0}',
    ],
)
def test_non_error_bodies_yield_nothing_and_never_raise(content: bytes | str) -> None:
    assert parse_error_details(content) == []


@pytest.mark.parametrize("content", [b"[" * 100_000, b'{"a":' * 100_000])
def test_pathologically_nested_json_never_raises(content: bytes) -> None:
    assert parse_error_details(content) == []


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_raise(content: bytes) -> None:
    details = parse_error_details(content)
    assert isinstance(details, list)
    assert all(isinstance(d, AlmaErrorDetail) for d in details)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_random_text_never_raises(content: str) -> None:
    assert isinstance(parse_error_details(content), list)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(
        [
            "error_400_pulibrary.json",
            "error_400_pulibrary.xml",
            "error_429_per_second_threshold_pulibrary.json",
            "scriptotek_error_response.json",
            "scriptotek_error_response.xml",
            "scriptotek_per_second_threshold_error_response.json",
        ]
    ),
    st.data(),
)
def test_any_truncation_of_a_real_error_never_raises(name: str, data: st.DataObject) -> None:
    content = example(name)
    cut = data.draw(st.integers(0, len(content)))
    details = parse_error_details(content[:cut])
    assert isinstance(details, list)
    if cut == len(content):
        assert len(details) == 1


# --- error_for_response: class by code first, status second -----------------------------------------------

MAPPING: list[tuple[int, bytes, type[APIStatusError]]] = [
    (400, json_error("401861", "User with identifier jdoe was not found."), NotFoundError),
    (400, json_error("401890", "User with identifier jdoe of type X was not found."), NotFoundError),
    (400, xml_error("401861", "User with identifier jdoe was not found."), NotFoundError),
    (400, json_error("401851", "User with identifier 1 of type BARCODE already exists."), AlreadyExistsError),
    (429, example("error_429_per_second_threshold_pulibrary.json"), RateLimitError),
    (429, example("scriptotek_per_second_threshold_error_response.json"), RateLimitError),
    (429, json_error("DAILY_THRESHOLD", "Daily threshold reached", None), DailyThresholdExceeded),
    (400, json_error("UNAUTHORIZED", "API-key not defined or not configured to allow this API."), AuthenticationError),
    (403, json_error("UNAUTHORIZED", "API-key not defined or not configured to allow this API."), AuthenticationError),
    (401, b"", AuthenticationError),
    (401, b"<html><body>Unauthorized</body></html>", AuthenticationError),
    (403, b"", PermissionDeniedError),
    (403, b"<html><body>Forbidden</body></html>", PermissionDeniedError),
    (404, b"", NotFoundError),
    (400, example("error_400_pulibrary.json"), BadRequestError),
    (400, example("error_400_pulibrary.xml"), BadRequestError),
    (400, example("scriptotek_error_response.json"), BadRequestError),
    (409, b"", BadRequestError),
    (422, b"not json", BadRequestError),
    (429, b"", RateLimitError),
    (500, b"", InternalServerError),
    (500, json_error("GENERAL_ERROR", "General error."), InternalServerError),
    (502, b"<html>Bad gateway</html>", InternalServerError),
    (503, b"General error with the API Gateway - please retry later.", InternalServerError),
    # Alma's code wins over the status.
    (500, json_error("401861"), NotFoundError),
    (400, json_error("PER_SECOND_THRESHOLD"), RateLimitError),
    (400, json_error("DAILY_THRESHOLD"), DailyThresholdExceeded),
]


@pytest.mark.parametrize(("status", "content", "expected"), MAPPING)
def test_error_class_by_code_first_then_status(status: int, content: bytes, expected: type[APIStatusError]) -> None:
    err = error_for_response(status_code=status, method="GET", path=PATH, content=content)
    assert type(err) is expected
    assert isinstance(err, APIStatusError)
    assert isinstance(err, AlmaError)
    assert isinstance(err, Exception)
    assert err.status_code == status
    assert err.method == "GET"
    assert err.path == PATH


def test_daily_threshold_is_a_rate_limit_error() -> None:
    err = error_for_response(
        status_code=429, method="GET", path=PATH, content=json_error("DAILY_THRESHOLD", "Daily limit")
    )
    assert isinstance(err, RateLimitError)
    with pytest.raises(RateLimitError):
        raise err


@pytest.mark.parametrize(
    "cls",
    [
        BadRequestError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        AlreadyExistsError,
        RateLimitError,
        DailyThresholdExceeded,
        InternalServerError,
    ],
)
def test_every_status_error_class_is_an_api_status_and_alma_error(cls: type[APIStatusError]) -> None:
    assert issubclass(cls, APIStatusError)
    assert issubclass(cls, AlmaError)
    err = cls(status_code=400, method="PUT", path=PATH, errors=[])
    with pytest.raises(AlmaError):
        raise err


def test_str_content_is_accepted() -> None:
    content = example("error_400_pulibrary.json").decode()
    err = error_for_response(status_code=400, method="GET", path=PATH, content=content)
    assert err.code == "402204"


# --- what an error carries ----------------------------------------------------------------------------------


def test_error_carries_alma_code_message_tracking_id() -> None:
    err = error_for_response(
        status_code=400,
        method="GET",
        path=PATH,
        content=json_error("401861", "User with identifier jdoe was not found.", "E01-0804072350-LLRHA"),
    )
    assert err.code == "401861"
    assert err.message == "User with identifier jdoe was not found."
    assert err.tracking_id == "E01-0804072350-LLRHA"
    assert err.errors == [
        AlmaErrorDetail(
            code="401861", message="User with identifier jdoe was not found.", tracking_id="E01-0804072350-LLRHA"
        )
    ]
    assert err.hint is not None
    assert "user_id_type" in err.hint


def test_error_carries_every_alma_error() -> None:
    body = {
        "errorsExist": True,
        "errorList": {
            "error": [
                {"errorCode": "401664", "errorMessage": "Mandatory field is missing: last_name", "trackingId": "T1"},
                {"errorCode": "401852", "errorMessage": "Given user group is not legal.", "trackingId": "T2"},
            ]
        },
    }
    err = error_for_response(status_code=400, method="POST", path="/almaws/v1/users", content=json.dumps(body))
    assert type(err) is BadRequestError
    assert [(e.code, e.message, e.tracking_id) for e in err.errors] == [
        ("401664", "Mandatory field is missing: last_name", "T1"),
        ("401852", "Given user group is not legal.", "T2"),
    ]
    assert err.code == "401664"
    text = str(err)
    for part in (
        "401664",
        "last_name",
        "T1",
        "401852",
        "Given user group is not legal.",
        "T2",
        "POST",
        "/almaws/v1/users",
    ):
        assert part in text


def test_any_not_found_code_in_the_list_makes_a_not_found_error() -> None:
    body = {
        "errorList": {
            "error": [
                {"errorCode": "402204", "errorMessage": "first"},
                {"errorCode": "401890", "errorMessage": "User with identifier X of type Y was not found."},
            ]
        }
    }
    err = error_for_response(status_code=400, method="GET", path=PATH, content=json.dumps(body))
    assert type(err) is NotFoundError
    assert len(err.errors) == 2


@pytest.mark.parametrize(
    ("content", "hint_word"),
    [
        (json_error("401861"), "user_id_type"),
        (json_error("401890"), "user_id_type"),
        (json_error("401851"), "users.get"),
        (example("error_429_per_second_threshold_pulibrary.json"), "rate_limit"),
        (json_error("DAILY_THRESHOLD"), "midnight"),
        (json_error("UNAUTHORIZED"), "ALMA_API_KEY"),
        (json_error("401852"), "user group"),
        (json_error("500038"), "8 characters"),
    ],
)
def test_known_codes_have_a_hint_that_is_shown(content: bytes, hint_word: str) -> None:
    err = error_for_response(status_code=400, method="GET", path=PATH, content=content)
    assert err.hint is not None
    assert hint_word in err.hint
    assert err.hint in str(err)


def test_unknown_code_has_no_hint() -> None:
    err = error_for_response(status_code=400, method="GET", path=PATH, content=example("error_400_pulibrary.json"))
    assert err.hint is None
    assert "hint" not in str(err)


def test_str_reads_well() -> None:
    err = error_for_response(status_code=400, method="GET", path=PATH, content=example("error_400_pulibrary.json"))
    text = str(err)
    for part in (
        "402204",
        "Input parameters mmsId banana is not numeric.",
        "E01-0312225307-JJDGC-AWAE1735835386",
        "GET",
        PATH,
        "400",
    ):
        assert part in text
    assert text == err.args[0]


def test_str_of_xml_error_reads_well() -> None:
    err = error_for_response(status_code=400, method="PUT", path=PATH, content=example("error_400_pulibrary.xml"))
    text = str(err)
    for part in (
        "402203",
        "Input parameters mmsId 1234 is not valid.",
        "E01-0212223205-P0XW8-AWAE584905282",
        "PUT",
        PATH,
    ):
        assert part in text


def test_str_without_tracking_id_does_not_mention_one() -> None:
    err = error_for_response(
        status_code=429, method="GET", path=PATH, content=example("scriptotek_per_second_threshold_error_response.json")
    )
    assert err.tracking_id is None
    assert "tracking id" not in str(err)
    assert "PER_SECOND_THRESHOLD" in str(err)


def test_error_without_alma_details_describes_the_body() -> None:
    page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    err = error_for_response(status_code=502, method="DELETE", path=PATH, content=page)
    assert err.errors == []
    assert err.code is None
    assert err.tracking_id is None
    assert err.hint is None
    assert "502 Bad Gateway" in err.message
    assert "502" in str(err)
    assert "DELETE" in str(err)
    assert PATH in str(err)


def test_empty_body_error_says_so() -> None:
    err = error_for_response(status_code=500, method="GET", path=PATH, content=b"")
    assert err.message
    assert "empty" in err.message
    assert "GET" in str(err)


def test_long_body_excerpt_is_bounded() -> None:
    page = b"<html>" + b"x" * 10_000 + b"</html>"
    err = error_for_response(status_code=503, method="GET", path=PATH, content=page)
    assert len(err.message) <= 200
    assert len(str(err)) < 400


def test_repr_names_class_status_and_code() -> None:
    err = error_for_response(status_code=400, method="GET", path=PATH, content=json_error("401861"))
    text = repr(err)
    assert text.startswith("NotFoundError(")
    assert "400" in text
    assert "401861" in text
    assert PATH in text


# --- secrets ------------------------------------------------------------------------------------------------


def test_authorization_header_never_appears_in_str_or_repr() -> None:
    headers = {
        "Authorization": f"apikey {SECRET}",
        "X-Exl-Api-Remaining": "41234",
        "Content-Type": "application/json",
    }
    for status, content in [
        (400, json_error("401861")),
        (401, json_error("UNAUTHORIZED")),
        (500, b""),
        (502, b"<html>gateway</html>"),
        (429, json_error("DAILY_THRESHOLD")),
    ]:
        err = error_for_response(status_code=status, method="GET", path=PATH, content=content, headers=headers)
        rendered = [
            str(err),
            repr(err),
            repr(err.args),
            "".join(traceback.format_exception(err)),
            f"{err}",
            f"{err!r}",
        ]
        for text in rendered:
            assert SECRET not in text
            assert "apikey" not in text


def test_response_headers_are_kept() -> None:
    err = error_for_response(
        status_code=429,
        method="GET",
        path=PATH,
        content=example("error_429_per_second_threshold_pulibrary.json"),
        headers={"X-Exl-Api-Remaining": "0", "Retry-After": "1"},
    )
    assert err.headers["X-Exl-Api-Remaining"] == "0"
    assert err.headers["Retry-After"] == "1"


def test_headers_default_to_empty() -> None:
    err = error_for_response(status_code=500, method="GET", path=PATH, content=b"")
    assert err.headers == {}


# --- every field real error bodies carry, wherever they put it --------------------------------------------


def test_a_tracking_id_beside_the_error_list_belongs_to_its_errors() -> None:
    body = {
        "web_service_result": {
            "errorsExist": True,
            "trackingId": "E01-OUTER",
            "errorList": {
                "error": [{"errorCode": "401861", "errorMessage": "m"}, {"errorCode": "1", "trackingId": "T"}]
            },
        }
    }
    details = parse_error_details(json.dumps(body))
    assert [(d.code, d.tracking_id) for d in details] == [("401861", "E01-OUTER"), ("1", "T")]


def test_an_xml_tracking_id_beside_the_error_list_is_kept() -> None:
    content = (
        "<web_service_result><errorList><error><errorCode>401861</errorCode><errorMessage>m</errorMessage>"
        "</error></errorList><trackingId>E01-XML</trackingId></web_service_result>"
    )
    err = error_for_response(status_code=400, method="GET", path=PATH, content=content)
    assert err.tracking_id == "E01-XML"
    assert "E01-XML" in str(err)


def test_snake_case_keys_numbers_and_other_fields_are_read_and_kept() -> None:
    body = {
        "errorList": {"error": {"error_code": 401861, "error_message": "m", "tracking_id": "T", "errorParameter": "x"}}
    }
    [detail] = parse_error_details(json.dumps(body))
    assert (detail.code, detail.message, detail.tracking_id) == ("401861", "m", "T")
    assert detail.extra == {"errorParameter": "x"}
    assert "errorParameter: x" in str(detail)


def test_xml_attributes_and_other_children_of_an_error_are_kept() -> None:
    content = '<errors><error severity="high"><errorCode>1</errorCode><detail>d</detail></error></errors>'
    [detail] = parse_error_details(content)
    assert detail.extra == {"severity": "high", "detail": "d"}


def test_the_first_tracking_id_is_found_even_on_a_later_error() -> None:
    body = {"errorList": {"error": [{"errorCode": "1", "errorMessage": "a"}, {"errorCode": "2", "trackingId": "T2"}]}}
    assert error_for_response(status_code=400, method="GET", path=PATH, content=json.dumps(body)).tracking_id == "T2"


# --- HTML pages under any status --------------------------------------------------------------------------

REJECTED = (
    b"<html><head><title>Request Rejected</title><style>p {color: red}</style></head><body>The requested URL was "
    b"rejected.<br><br>Your support ID is: 1234567890123456789</body></html>"
)


@pytest.mark.parametrize("status", [400, 403, 404, 500, 502, 503])
def test_an_html_page_is_named_as_html_with_its_text_kept(status: int) -> None:
    err = error_for_response(status_code=status, method="GET", path=PATH, content=REJECTED)
    assert err.body_kind == "html"
    assert "HTML page" in str(err)
    assert "Your support ID is: 1234567890123456789" in err.message
    assert "<" not in err.message
    assert "color: red" not in err.message


def test_the_kind_of_a_body_comes_from_its_header_then_its_start() -> None:
    from alma_onelink.errors import body_kind

    assert body_kind(b"oops", "text/html") == "html"
    assert body_kind(b"  <!DOCTYPE html><p>x") == "html"
    assert body_kind(b"<?xml version='1.0'?><html><body>x</body></html>") == "html"
    assert body_kind(b"<?xml version='1.0'?><web_service_result/>") == "xml"
    assert body_kind(b'{"a": 1}') == "json"
    assert body_kind(b"Service Unavailable") == "text"
    assert body_kind(b" \n") == "empty"


# --- hints ----------------------------------------------------------------------------------------------------


def test_a_general_error_on_a_user_search_hints_at_the_query() -> None:
    err = error_for_response(status_code=400, method="GET", path="/almaws/v1/users", content=json_error("402119"))
    assert err.hint is not None
    assert "search" in err.hint
    assert "same field twice" in err.hint
    other = error_for_response(status_code=400, method="GET", path=PATH + "/fees", content=json_error("402119"))
    assert other.hint is not None
    assert "search" not in other.hint


def test_query_not_understood_says_so_and_is_a_bad_request() -> None:
    from alma_onelink.errors import QueryNotUnderstoodError

    err = QueryNotUnderstoodError(status_code=200, method="GET", path="/almaws/v1/users", errors=[], body_excerpt="-1")
    assert isinstance(err, BadRequestError)
    assert "could not run this search" in str(err)
    assert "no match would be 0" in str(err)
