"""A base URL that carries the API key is refused, and the key is shown nowhere: not in the error, not in the
command's banner, not in a command it prints, not in a request.

Every shape a key can take in a URL: a query (``?apikey=``), a user name or password, the path, the
host, a fragment, percent-encoded. The library refuses each before any request (`InputError`); the
command says so as a usage error (exit 2), and its banner shows only the scheme and host.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from alma_onelink import AlmaClient, AsyncAlmaClient
from alma_onelink._config import shown_base_url
from alma_onelink.cli import app
from alma_onelink.errors import InputError

KEY = "l7xx" + "5ec12e7" * 4 + "abcd"
SHORT_KEY = "k3y"

SHAPES = {
    "query": f"https://alma.example.edu/almaws/v1?apikey={KEY}",
    "query-other-name": f"https://alma.example.edu/almaws/v1?key={KEY}",
    "userinfo": f"https://alma:{KEY}@alma.example.edu/almaws/v1",
    "user-only": f"https://{KEY}@alma.example.edu",
    "path": f"https://alma.example.edu/{KEY}/almaws/v1",
    "path-end": f"https://alma.example.edu/almaws/v1/{KEY}",
    "path-encoded": "https://alma.example.edu/" + "".join(f"%{ord(c):02X}" for c in KEY) + "/almaws/v1",
    "host": f"https://{KEY}.alma.example.edu/almaws/v1",
    "fragment": f"https://alma.example.edu/almaws/v1#{KEY}",
    "upper-case": f"https://alma.example.edu/{KEY.upper()}/almaws/v1",
}


def no_request(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"a request was sent: {request.method}")


@pytest.mark.parametrize("base_url", list(SHAPES.values()), ids=list(SHAPES))
def test_the_client_refuses_a_base_url_holding_the_key_and_never_shows_it(base_url: str) -> None:
    for make in (AlmaClient, AsyncAlmaClient):
        with pytest.raises(InputError) as info:
            make(api_key=KEY, base_url=base_url, transport=httpx.MockTransport(no_request))
        message = str(info.value)
        assert KEY not in message
        assert KEY.upper() not in message
        assert KEY.lower() not in message.lower()
        assert "ALMA_API_KEY" in message
        assert "--api-key" in message
        assert KEY not in repr(info.value)
    assert KEY.lower() not in shown_base_url(base_url, KEY).lower()


@pytest.mark.parametrize("base_url", list(SHAPES.values()), ids=list(SHAPES))
def test_from_the_environment_too(base_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALMA_API_KEY", KEY)
    monkeypatch.setenv("ALMA_BASE_URL", base_url)
    with pytest.raises(InputError) as info:
        AlmaClient.from_env()
    assert KEY.lower() not in str(info.value).lower()


def test_a_short_key_is_found_as_a_whole_part_of_the_url_only() -> None:
    with pytest.raises(InputError):
        AlmaClient(api_key=SHORT_KEY, base_url=f"https://alma.example.edu/{SHORT_KEY}/almaws/v1")
    with AlmaClient(api_key=SHORT_KEY, base_url="https://k3yboard.example.edu") as alma:  # by chance: fine
        assert alma.base_url == "https://k3yboard.example.edu/almaws/v1"


def test_a_clean_base_url_is_taken_as_before() -> None:
    with AlmaClient(api_key=KEY, base_url="https://alma.example.edu/proxy/almaws/v1/") as alma:
        assert alma.base_url == "https://alma.example.edu/proxy/almaws/v1"
    assert shown_base_url("https://alma.example.edu/proxy/", KEY) == "https://alma.example.edu/proxy"


@pytest.mark.parametrize("base_url", list(SHAPES.values()), ids=list(SHAPES))
@pytest.mark.parametrize("key_from", ["flag", "environment"])
def test_the_command_refuses_it_and_shows_the_key_nowhere(
    base_url: str, key_from: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("ALMA_API_KEY", "ALMA_BASE_URL", "ALMA_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "300")
    key = ["--api-key", KEY] if key_from == "flag" else []
    if key_from == "environment":
        monkeypatch.setenv("ALMA_API_KEY", KEY)
    runner = CliRunner()
    for args in (["user", "show", "jd123"], ["--debug", "user", "show", "jd123"], ["--json", "user", "show", "jd123"]):
        result = runner.invoke(app, [*key, "--base-url", base_url, *args])
        shown = (result.stdout + result.stderr).lower()
        assert result.exit_code == 2, (args, result.stdout, result.stderr)
        assert KEY.lower() not in shown, args
        assert "".join(f"%{ord(c):02x}" for c in KEY[:8]) not in shown
        assert "alma.example.edu" in shown or "a host that holds the api key" in shown  # says which URL
        assert result.stderr.splitlines()[0].startswith("Alma at https://")  # the banner
