import pytest

from mesh.settings import SettingsError
from services.cart.settings import THIRTY_DAYS_SECONDS, Settings


def test_carts_live_thirty_days_by_default() -> None:
    assert Settings.from_env({}).cart_ttl_seconds == THIRTY_DAYS_SECONDS == 2_592_000
    assert Settings.from_env({"CART_TTL_SECONDS": "60"}).cart_ttl_seconds == 60


def test_a_bad_value_names_its_variable() -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env({"CART_TTL_SECONDS": "soon"})
    assert error.value.name == "CART_TTL_SECONDS"
