"""The seed's k6 load scenario (deploy/loadtest/k6-load-test.js) as a Locust file.

Each virtual user, in a loop: GET /v1/products?pageSize=20, GET /v1/carts/{userId} with the
shopper's token, GET /v1/search?query=shirt, then sleeps one second. The shoppers (user id and
token) come from the JSON file named by BENCH_SHOPPERS, handed out round robin, as k6 gives
every VU the same USER_TOKEN. The runner (bench/run.py) reads the CSV statistics and checks
the thresholds; this file only generates the load.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

from locust import FastHttpUser, constant, task

_SHOPPERS = json.loads(Path(os.environ["BENCH_SHOPPERS"]).read_text())
_NEXT = itertools.count()


class SeedShopper(FastHttpUser):
    wait_time = constant(1)

    def on_start(self) -> None:
        shopper = _SHOPPERS[next(_NEXT) % len(_SHOPPERS)]
        self.user_id = shopper["user_id"]
        self.auth = {"authorization": f"Bearer {shopper['token']}"}

    @task
    def browse(self) -> None:
        self.client.get("/v1/products?pageSize=20", name="get-products")
        self.client.get(f"/v1/carts/{self.user_id}", headers=self.auth, name="get-cart")
        self.client.get("/v1/search?query=shirt", name="search")
