"""The README works as written: its examples run in order (see tests/test_docs.py for how each
kind of block is run or checked), its commands are accepted, its links resolve, and it stays
one page."""

from pathlib import Path

import pytest
from test_docs import ABOUT_WORK, broken_links, check_commands, code_blocks, run_page

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_is_one_page():
    assert len(README.read_text().splitlines()) <= 300


def test_readme_has_examples():
    languages = {block.language for block in code_blocks(README)}
    assert {"python", "sh"} <= languages


def test_readme_links_resolve():
    assert broken_links(README) == []


def test_readme_describes_the_software():
    assert not ABOUT_WORK.findall(README.read_text())


def test_readme_commands_are_accepted(monkeypatch):
    check_commands(README, monkeypatch)


@pytest.mark.slow
def test_readme_examples_run(tmp_path, capsys, monkeypatch):
    printed = run_page(README, tmp_path, capsys, monkeypatch)
    assert "Total params: 49,985" in printed
