import pytest

from mesh.settings import SettingsError
from services.catalog.settings import Settings


def test_defaults_and_database_from_the_url() -> None:
    assert Settings.from_env({}).database == "shop_catalog"
    assert Settings.from_env({"MONGODB_URL": "mongodb://db:27017/shop_x"}).database == "shop_x"
    overridden = Settings.from_env(
        {"MONGODB_URL": "mongodb://db:27017/shop_x", "CATALOG_MONGODB_DATABASE": "other"}
    )
    assert overridden.database == "other"


def test_a_bad_value_names_its_variable() -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env({"MONGODB_URL": "postgres://nope"})
    assert error.value.name == "MONGODB_URL"


def test_the_cache_is_on_only_with_a_redis_url() -> None:
    assert Settings.from_env({}).redis_url is None
    cached = Settings.from_env({"REDIS_URL": "redis://cache:6379/0"})
    assert (cached.redis_url, cached.cache_ttl_seconds) == ("redis://cache:6379/0", 30.0)
    with pytest.raises(SettingsError) as error:
        Settings.from_env({"REDIS_URL": "http://cache"})
    assert error.value.name == "REDIS_URL"
