"""The [triggers] section of shardgate.toml and SHARDGATE_TRIGGERS_ALLOW_PRIVATE."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.settings import load_settings


def test_triggers_section_and_definitions(tmp_path: Path) -> None:
    path = tmp_path / "shardgate.toml"
    path.write_text(
        "[triggers]\ngrace_s = 5\nconcurrency = 2\n"
        '[[triggers.definitions]]\nname = "t"\ncollection = "users.User"\nops = ["INSERT"]\n'
        'url = "https://hooks.example.com/t"\n'
    )
    t = load_settings(path, env={}).gateway.triggers
    assert (t.grace_s, t.concurrency, t.allow_private) == (5, 2, False)
    assert t.definitions[0]["name"] == "t"
    assert t.options() == {
        "allow_private": False,
        "grace_s": 5,
        "concurrency": 2,
        "retention_s": 7 * 86400.0,
    }


def test_allow_private_from_the_environment(tmp_path: Path) -> None:
    env = {"SHARDGATE_TRIGGERS_ALLOW_PRIVATE": "1"}
    assert load_settings(tmp_path / "absent.toml", env=env).gateway.triggers.allow_private


def test_unknown_trigger_settings_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "shardgate.toml"
    path.write_text("[triggers]\ngrace = 5\n")
    with pytest.raises(SystemExit, match="grace"):
        load_settings(path, env={})
