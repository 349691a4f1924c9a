"""A journal error passed on with more words keeps what a program reads from it: path, cause, what was sent."""

from __future__ import annotations

from pathlib import Path

from alma_onelink.engine import JournalError


def test_said_with_adds_words_and_keeps_the_facts() -> None:
    first = JournalError("The journal j.jsonl could not be written", path=Path("j.jsonl"), cause="[Errno 28] full")
    said = first.said_with("; run it again", nothing_sent=True)
    assert str(said) == "The journal j.jsonl could not be written; run it again"
    assert (said.path, said.cause, said.nothing_sent, said.saved) == (Path("j.jsonl"), "[Errno 28] full", True, None)
    assert first.said_with("!").nothing_sent is False  # kept unless given
