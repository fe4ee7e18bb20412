"""DATABASE_POOL_MAX_SIZE, with the older spelling DATABASE_POOL_SIZE still honoured."""

from __future__ import annotations

import logging

import pytest

from mesh.settings import Env, SettingsError


def test_the_new_name_wins_and_the_default_applies_without_either() -> None:
    assert Env({}).pool_max_size(10) == 10
    assert Env({"DATABASE_POOL_MAX_SIZE": "7"}).pool_max_size(10) == 7
    both = {"DATABASE_POOL_MAX_SIZE": "7", "DATABASE_POOL_SIZE": "3"}
    assert Env(both).pool_max_size(10) == 7


def test_the_old_name_still_works_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="mesh.settings"):
        assert Env({"DATABASE_POOL_SIZE": "3"}).pool_max_size(10, minimum=2) == 3
    assert "DATABASE_POOL_SIZE is deprecated; set DATABASE_POOL_MAX_SIZE" in caplog.text


def test_a_bad_value_names_the_variable_it_came_from() -> None:
    with pytest.raises(SettingsError) as new:
        Env({"DATABASE_POOL_MAX_SIZE": "1"}).pool_max_size(10, minimum=2)
    assert new.value.name == "DATABASE_POOL_MAX_SIZE"
    with pytest.raises(SettingsError) as old:
        Env({"DATABASE_POOL_SIZE": "many"}).pool_max_size(10)
    assert old.value.name == "DATABASE_POOL_SIZE"
