from __future__ import annotations

import pytest

from mesh.bootstrap import Runtime, run_service
from mesh.server import ServiceSpec


async def never_built(runtime: Runtime) -> ServiceSpec:
    raise AssertionError("build must not run with bad settings")


def test_bad_settings_stop_the_start_naming_the_variable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as caught:
        run_service("cart", never_built, {"GRPC_PORT": "not-a-port"})
    assert caught.value.code == 2
    assert "GRPC_PORT" in capsys.readouterr().err
