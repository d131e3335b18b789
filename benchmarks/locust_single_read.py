"""One request, as fast as Locust can send it: GET /orders/$ORDER_ID through the edge.

For benchmarks/load_benchmark.py only, which compares it with wrk on the same endpoint;
the capacity scenarios live in load/.
"""

import os

from locust import FastHttpUser, constant, task


class SingleReadUser(FastHttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.path = f"/orders/{os.environ['ORDER_ID']}"
        self.headers = {"Authorization": f"Bearer {os.environ['BENCH_TOKEN']}"}

    @task
    def read(self):
        self.client.get(self.path, headers=self.headers, name="GET /orders/{id}")
