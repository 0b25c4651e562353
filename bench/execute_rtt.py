"""Kernel execute round trip with and without rtc-presence's attribution, same run.

Three real ``jupyter server`` subprocesses, everything else the installed
stack: ``stock``; ``stock+nodelay``, stock with only TCP_NODELAY on kernel
websockets (:class:`NoDelayConnection`, what rtc-presence's connection also
does), so that ``rtc-presence`` against it isolates what attribution costs;
and ``rtc-presence``. One real ipykernel each, one kernel websocket client
per server. Rounds rotate the order of the servers so load on the shared
machine hits all alike. A round trip is
``execute_request`` sent -> ``execute_reply`` received for a one-line cell
(``pass``): what attribution adds is on exactly that path (header stamp on
the way in, reply bookkeeping on the way out).

    python -m bench.execute_rtt [--rounds 2000] [--protocol json|v1|both] [--out DIR]

Writes ``execute_rtt.json`` and ``execute_rtt.md`` in ``bench/results/``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection

from rtc_presence.testing.kernelwire import KernelClient, Protocol
from rtc_presence.testing.server import JupyterServerProcess


class NoDelayConnection(ZMQChannelsWebsocketConnection):
    """Upstream's kernel connection with TCP_NODELAY, nothing else (the baseline)."""

    def connect(self) -> Any:
        self.websocket_handler.set_nodelay(True)
        return super().connect()


RESULTS = Path(__file__).resolve().parent / "results"
WARMUP = 50


def _server(
    name: str, ours: bool, workdir: Path, nodelay: bool = False
) -> tuple[JupyterServerProcess, str]:
    token = secrets.token_hex(16)
    server_app: dict[str, Any] = {
        "allow_root": True,
        "log_level": "WARN",
        "jpserver_extensions": {"rtc_presence": ours},
    }
    if nodelay:
        server_app["kernel_websocket_connection_class"] = "bench.execute_rtt.NoDelayConnection"
    config = {"ServerApp": server_app, "IdentityProvider": {"token": token}}
    work = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=workdir))
    return JupyterServerProcess(work, config, {"Authorization": f"token {token}"}, name), token


async def _kernel(server: JupyterServerProcess, token: str) -> str:
    async with httpx.AsyncClient(trust_env=False, timeout=60) as http:
        resp = await http.post(
            server.http_url + "api/kernels",
            json={"name": "python3"},
            headers={"Authorization": f"token {token}"},
        )
        resp.raise_for_status()
        return str(resp.json()["id"])


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000

    return {
        "n": len(ordered),
        "p50_ms": round(pct(50), 3),
        "p90_ms": round(pct(90), 3),
        "p99_ms": round(pct(99), 3),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 3),
    }


async def _run(rounds: int, protocols: list[Protocol], workdir: Path) -> dict[str, Any]:
    servers = {
        "stock": _server("stock", False, workdir),
        "stock+nodelay": _server("nodelay", False, workdir, nodelay=True),
        "rtc-presence": _server("rtc-presence", True, workdir),
    }
    for server, _ in servers.values():
        server.start()
    try:
        await asyncio.gather(*(server.wait_ready_async() for server, _ in servers.values()))
        out: dict[str, Any] = {}
        for protocol in protocols:
            clients = {}
            for name, (server, token) in servers.items():
                kernel = await _kernel(server, token)
                clients[name] = await KernelClient.connect(server.ws_url, kernel, token, protocol)
            samples: dict[str, list[float]] = {name: [] for name in clients}
            order = list(clients)
            for i in range(WARMUP + rounds):
                shift = i % len(order)
                for name in order[shift:] + order[:shift]:
                    client = clients[name]
                    t0 = time.perf_counter()
                    await client.execute("pass", username="someone-else")
                    if i >= WARMUP:
                        samples[name].append(time.perf_counter() - t0)
                    client.seen.clear()
            out[protocol] = {name: _summary(s) for name, s in samples.items()}
            for client in clients.values():
                await client.close()
        return out
    finally:
        for server, _ in servers.values():
            server.stop()
            shutil.rmtree(server.workdir, ignore_errors=True)


def _markdown(result: dict[str, Any]) -> str:
    lines = [
        "# Kernel execute round trip: stock, stock+nodelay, rtc-presence (same run, rotated)",
        "",
        f"{result['rounds']} rounds per server after {WARMUP} warm-up rounds; cell `pass`.",
        "",
        "| protocol | server | p50 ms | p90 ms | p99 ms | mean ms |",
        "|---|---|---|---|---|---|",
    ]
    for protocol, by_server in result["protocols"].items():
        for name, s in by_server.items():
            lines.append(
                f"| {protocol} | {name} | {s['p50_ms']} | {s['p90_ms']} | {s['p99_ms']} "
                f"| {s['mean_ms']} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--protocol", choices=["json", "v1", "both"], default="both")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    protocols: list[Protocol] = ["json", "v1"] if args.protocol == "both" else [args.protocol]
    workdir = Path(tempfile.mkdtemp(prefix="execute-rtt-"))
    try:
        t0 = time.monotonic()
        measured = asyncio.run(_run(args.rounds, protocols, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result = {
        "rounds": args.rounds,
        "wall_s": round(time.monotonic() - t0, 1),
        "protocols": measured,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "execute_rtt.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "execute_rtt.md").write_text(_markdown(result))
    print(_markdown(result))


if __name__ == "__main__":
    main()
