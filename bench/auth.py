"""Cost of authentication: an authenticated route against an open one, and logins per second.

    python -m bench.auth [--requests 1000] [--logins 40]

One AISS on embedded stores, served by uvicorn on loopback, in this process.
`GET /health` (no auth) is the baseline for `GET /api/v1/users/me` with a
Bearer access token and with an API key; requests go one at a time over a
kept-alive connection, alternating, so that both see the same machine.
Logins use the default argon2id cost.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio

from aiss.app import create_app
from aiss.config import Settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.servers import serving

PASSWORD = "Bench-Passw0rd-admin"
LABELS = {
    "open": "GET /health (no auth)",
    "token": "GET /users/me, access token",
    "api key": "GET /users/me, API key",
}


async def bench(requests: int, logins: int, data: Path) -> None:
    settings = Settings.from_env(
        {
            "AISS_DATA_DIR": str(data),
            "ADMIN_INITIAL_PASSWORD": PASSWORD,
            "AISS_LOGIN_RATE_LIMIT": "100000/1m",
        },
        env_file=None,
    )
    async with serving(create_app(settings)) as http:
        login = {"username": "admin", "password": PASSWORD}
        token = (await http.post("/api/v1/auth/login", json=login)).json()["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}
        key = (
            await http.post("/api/v1/users/me/api-keys", json={"name": "bench"}, headers=bearer)
        ).json()["key"]
        by_key = {"Authorization": f"Bearer {key}"}

        async def timed(path: str, headers: dict[str, str]) -> float:
            started = time.perf_counter()
            response = await http.get(path, headers=headers)
            assert response.status_code == 200, response.text
            return (time.perf_counter() - started) * 1000

        samples: dict[str, list[float]] = {"open": [], "token": [], "api key": []}
        for _ in range(requests):
            samples["open"].append(await timed("/health", {}))
            samples["token"].append(await timed("/api/v1/users/me", bearer))
            samples["api key"].append(await timed("/api/v1/users/me", by_key))

        started = time.perf_counter()
        for _ in range(logins):
            assert (await http.post("/api/v1/auth/login", json=login)).status_code == 200
        serial = logins / (time.perf_counter() - started)

        async def client(count: int) -> None:
            for _ in range(count):
                await http.post("/api/v1/auth/login", json=login)

        started = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(client, logins // 4)
        parallel = (logins // 4 * 4) / (time.perf_counter() - started)

    base = statistics.median(samples["open"])
    print("| request | p50 ms | p99 ms | p50 / open route |")
    print("|---|---:|---:|---:|")
    for name, values in samples.items():
        p50 = statistics.median(values)
        p99 = statistics.quantiles(values, n=100)[98]
        label = {
            "open": "GET /health (no auth)",
            "token": "GET /users/me, access token",
            "api key": "GET /users/me, API key",
        }[name]
        print(f"| {label} | {p50:.2f} | {p99:.2f} | {p50 / base:.2f} |")
    print()
    rates = f"{serial:.1f} one at a time, {parallel:.1f} with 4 clients"
    print(f"logins/s: {rates} (argon2id, default cost)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--logins", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        anyio.run(bench, args.requests, args.logins, Path(data))


if __name__ == "__main__":
    main()
