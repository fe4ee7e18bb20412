"""The seed's k6 load scenario (deploy/loadtest/k6-load-test.js) as a Locust file.

Each virtual user, in a loop: GET /v1/products?pageSize=20, GET /v1/carts/{userId} with the
shopper's token, GET /v1/search?query=shirt, then sleeps one second. The shoppers (user id and
token) come from the JSON file named by BENCH_SHOPPERS, handed out round robin, as k6 gives
every VU the same USER_TOKEN. Each user starts at a random instant of its first second, as
k6's ramp starts its VUs one by one. The runner (bench/run.py) reads the CSV statistics and
checks the thresholds; this file only generates the load.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
from pathlib import Path

from locust import FastHttpUser, constant, task

_SHOPPERS = json.loads(Path(os.environ["BENCH_SHOPPERS"]).read_text())
_NEXT = itertools.count()
_START_SPREAD = random.Random()


class SeedShopper(FastHttpUser):
    wait_time = constant(1)

    def on_start(self) -> None:
        shopper = _SHOPPERS[next(_NEXT) % len(_SHOPPERS)]
        self.user_id = shopper["user_id"]
        self.auth = {"authorization": f"Bearer {shopper['token']}"}
        # k6 ramps its VUs up one by one, each at its own instant, and each then keeps its own
        # phase of the one-second loop. Locust starts a second's worth of users at once
        # (`--spawn-rate` users per dispatch), and users started together stay in step: ten
        # requests arriving as one burst, which the seed's test never sends. A random start
        # within the second gives each user its own phase, as k6's ramp does.
        time.sleep(_START_SPREAD.uniform(0, 1))  # gevent's sleep: Locust patches time

    @task
    def browse(self) -> None:
        self.client.get("/v1/products?pageSize=20", name="get-products")
        self.client.get(f"/v1/carts/{self.user_id}", headers=self.auth, name="get-cart")
        self.client.get("/v1/search?query=shirt", name="search")
