"""Graph pull benchmark: N Macs from the loopback Graph server under Intune's throttling, scaled.

    python -m bench.graph_pull --devices 20000

Intune allows 2,000 requests per 20 s per app per tenant. The server (tests/graph_server.py, in
its own process so it does not share the GIL with the client) enforces the same 2,000-request
sliding window scaled down in time (default 1/10: 2,000 per 2 s) and answers 429 + Retry-After
beyond it. The pull uses the real msgraph-sdk client with its client-side limiter at 95% of the
limit. Reported: Graph requests made (a $batch counts each request inside it), wall time,
requests/s achieved vs the limit, the throttling floor (the time the limit alone imposes on that
many requests), % over the floor, 429s the server sent, and devices whose details failed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from azure.core.credentials import AccessToken

from auditor.sources.graph import GraphSettings, fetch_snapshot

SERVER = Path(__file__).resolve().parent.parent / "tests" / "graph_server.py"
INTUNE_LIMIT = 2_000  # requests per window, per app per tenant
INTUNE_WINDOW_S = 20.0


class _BenchToken:
    """A fixed bearer token: the loopback server accepts any."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("bench", int(time.time()) + 3600)


def floor_s(requests: int, limit: int, window_s: float) -> float:
    """Least time a sliding window of `limit` per `window_s` needs to admit `requests` requests."""
    return ((requests - 1) // limit) * window_s if requests > 0 else 0.0


def run(devices: int = 20_000, scale: float = 1 / 10, concurrency: int = 8) -> dict[str, Any]:
    """Pull `devices` Macs through the throttled loopback server and measure against the floor."""
    window_s = INTUNE_WINDOW_S * scale
    server = subprocess.Popen(
        [sys.executable, str(SERVER), "--devices", str(devices), "--page-size", "1000",
         "--rate-limit", str(INTUNE_LIMIT), "--window", str(window_s)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        settings = GraphSettings(
            graph_url=url,
            progress=False,
            max_concurrency=concurrency,
            rate_limit_requests=int(INTUNE_LIMIT * 0.95),
            rate_limit_window_s=window_s,
            backoff_base_s=0.05,
            export_poll_s=0.05,
        )
        started, cpu_started = time.perf_counter(), time.process_time()
        snapshot = fetch_snapshot(settings, credential=_BenchToken())
        wall_s = time.perf_counter() - started
        client_cpu_s = time.process_time() - cpu_started
        stats_url = url.removesuffix("/v1.0") + "/_stats"
        with urllib.request.urlopen(stats_url, timeout=10) as answer:
            server_stats = json.load(answer)
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=30)
    requests = snapshot["stats"]["requests"]
    floor = floor_s(requests, INTUNE_LIMIT, window_s)
    details = snapshot["parts"]["device_details"]
    detailed = {r["id"] for r in details["records"]}
    listed = {r["id"] for r in snapshot["parts"]["managed_devices"]["records"]}
    return {
        "devices": devices,
        "listed": len(listed),
        "scale": scale,
        "limit_per_s": round(INTUNE_LIMIT / window_s, 1),
        "graph_requests": requests,
        "wall_s": round(wall_s, 2),
        "requests_per_s": round(requests / wall_s, 1),
        "floor_s": round(floor, 2),
        "over_floor_pct": round(100 * (wall_s - floor) / floor, 1) if floor else None,
        "server_429s": server_stats["throttled"],
        "client_cpu_s": round(client_cpu_s, 2),
        "server_cpu_s": round(server_stats["cpu_s"], 2),
        "client_retries": snapshot["stats"]["retries"],
        "failed_devices": len(listed - detailed),
        "complete": snapshot["complete"],
        "gaps": [g["part"] for g in snapshot["gaps"]],
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=20_000)
    parser.add_argument("--scale", type=float, default=1 / 10, help="time scale of Intune's window")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    print(json.dumps(run(args.devices, args.scale, args.concurrency), indent=2))
