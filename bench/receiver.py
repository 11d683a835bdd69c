"""Benchmark the webhook receiver: durable appends under concurrent load on loopback.

Starts the real receiver (``python -m runner webhook serve``) in a subprocess,
then measures two things with signed status webhooks of a realistic size:

1. **Meta's target.** Meta asks a webhook to take three times the outbound
   rate (3 x 80 = 240 requests/s) with a median latency <= 250 ms and under 1%
   of requests over 1 s. The requests are offered open-loop at that rate
   (on a fixed schedule, whatever the answers), and latency is measured from the
   scheduled time, so a receiver that falls behind is not flattered.
2. **The ceiling.** Concurrent clients send as fast as the receiver answers:
   accepted requests per second.

Every accepted request is checked against the journal afterwards: the number
of lines on disk must equal the number of 200s.

3. **Slow clients.** ``--slow N`` (default 1,000) clients connect and send their
   headers a byte a second, never finishing; meanwhile normal POSTs are offered
   at 40/s for 10 s (5 s client timeout). Side by side: the README's former
   deployment (gunicorn, gthread, 2 workers x 32 threads) and the documented one
   (``gunicorn -c python:runner.webhook.gunicorn_conf``, gevent workers).
   Target for the documented one: p99 < 1 s, no errors.

4. **Large slow bodies.** ``--big N`` (default 20) clients each announce a 3 MB
   body, send all of it but the last byte and hold it. The receiver's resident
   memory before and at its peak, side by side: with the caps of
   runner/webhook/body.py, and without them (the same receiver with an unlimited
   budget and time, as before the caps).

    .venv/bin/python bench/receiver.py                 # 240/s for 20 s, then the ceiling
    .venv/bin/python bench/receiver.py --rate 480 --seconds 10 --logs /var/tmp/x
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from runner.webhook.app import sign  # noqa: E402

SECRET = "bench-app-secret"


def status_body(i: int) -> bytes:
    """A `delivered` status webhook like Meta's (about 700 bytes), invented number."""
    return json.dumps({
        "object": "whatsapp_business_account",
        "entry": [{"id": "111222333444555", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "390000000000", "phone_number_id": "999888"},
            "statuses": [{
                "id": f"wamid.HBgMMzkzMzMwMDAwMDAxFQIAERgSQkVOQ0g{i:012d}AA==",
                "status": "delivered", "timestamp": str(1711960000 + i),
                "recipient_id": f"3933300{i % 100000:05d}",
                "biz_opaque_callback_data": f"banditore:a:2024-04-02-allerta-meteo:c_{i:016x}",
                "pricing": {"billable": True, "pricing_model": "PMP", "type": "regular",
                            "category": "utility"}}]}}]}],
    }, separators=(",", ":")).encode()


# The same receiver, with every fsync made `argv[1]` ms slower: a slow disk.
SLOW_DISK = """
import os, sys, time
from runner.webhook.app import create_app
from runner.webhook.logwriter import LogWriter
from runner.webhook.server import make_server
delay = float(sys.argv[1]) / 1000
def slow_fsync(fd):
    os.fsync(fd)
    time.sleep(delay)
app = create_app()
app.log = LogWriter(app.log.folder, fsync=slow_fsync)
server = make_server(app, "127.0.0.1", 0)
print(f"listening on http://127.0.0.1:{server.server_address[1]}/", flush=True)
server.serve_forever()
"""


# The receiver with its body caps (argv[1] == "capped") or without them.
BODIES = """
import sys
from runner.webhook.app import create_app
from runner.webhook.body import BodyReader
from runner.webhook.server import make_server
app = create_app()
if sys.argv[1] != "capped":
    app.bodies = BodyReader(in_flight=10**12, seconds=10**6)
server = make_server(app, "127.0.0.1", 0)
print(f"listening on http://127.0.0.1:{server.server_address[1]}/", flush=True)
server.serve_forever()
"""


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def hold_big_body(host: str, port: int, size: int, release: threading.Event) -> None:
    """Announce ``size`` bytes, send all but the last, hold until ``release``."""
    import socket

    sock = socket.create_connection((host, port), timeout=30)
    try:
        sock.sendall(f"POST / HTTP/1.1\r\nHost: x\r\nX-Hub-Signature-256: sha256={'0' * 64}"
                     f"\r\nContent-Length: {size}\r\n\r\n".encode())
        sock.sendall(b" " * (size - 1))
    except OSError:
        pass  # refused (503) and closed while sending: nothing held
    release.wait()
    sock.close()


def big_bodies(count: int) -> None:
    from runner.webhook.body import MAX_BODY

    print(f"\n{count} clients each holding a 3 MB body but its last byte (built-in server):")
    for label in ("uncapped", "capped"):
        with tempfile.TemporaryDirectory(prefix="bench-receiver-") as tmp:
            logs = Path(tmp) / "webhook-logs"
            logs.mkdir()
            proc, host, port = start_receiver(logs, 0, [sys.executable, "-c", BODIES, label])
            try:
                time.sleep(0.5)
                before = rss_mb(proc.pid)
                release = threading.Event()
                clients = [threading.Thread(target=hold_big_body,
                                            args=(host, port, MAX_BODY, release))
                           for _ in range(count)]
                for client in clients:
                    client.start()
                peak, until = before, time.monotonic() + 4
                while time.monotonic() < until:
                    peak = max(peak, rss_mb(proc.pid))
                    time.sleep(0.05)
                release.set()
                for client in clients:
                    client.join()
            finally:
                proc.terminate()
                proc.wait(15)
                proc.stdout.close()
        print(f"  {label:9s} {before:6.1f} MB before, {peak:6.1f} MB at the peak "
              f"(+{peak - before:.1f} MB)")
        if label == "uncapped":
            grown = peak - before
        else:
            print(f"  growth capped / uncapped: {(peak - before) / grown:.2f}")


def start_receiver(logs: Path, fsync_ms: float, command: list[str] | None = None,
                   settings: dict[str, str] | None = None) -> tuple[subprocess.Popen, str, int]:
    """``webhook serve`` (or ``command``) on a free port of 127.0.0.1, writing into
    ``logs``, with ``settings`` (more environment) beside the bench's secret."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANDITORE_")}
    env.update(PYTHONPATH=str(ROOT), BANDITORE_WHATSAPP_APP_SECRET=SECRET,
               BANDITORE_WHATSAPP_VERIFY_TOKEN="bench", BANDITORE_WEBHOOK_LOGS=str(logs),
               **(settings or {}))
    command = command or [sys.executable, "-m", "runner", "webhook", "serve", "--host",
                          "127.0.0.1", "--port", "0"]
    if fsync_ms:
        command = [sys.executable, "-c", SLOW_DISK, str(fsync_ms)]
    proc = subprocess.Popen(command,
                            cwd=logs.parent, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    match = re.search(r"http://([\d.]+):(\d+)/", proc.stdout.readline())
    if not match:
        proc.kill()
        raise SystemExit("the receiver did not start")
    return proc, match.group(1), int(match.group(2))


class Client:
    def __init__(self, host: str, port: int, timeout: float = 30):
        self.host, self.port, self.timeout = host, port, timeout
        self.lock = threading.Lock()
        self.counter = 0
        self.latencies: list[float] = []
        self.errors = 0

    def post(self, started: float) -> None:
        with self.lock:
            self.counter += 1
            i = self.counter
        body = status_body(i)
        try:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            conn.request("POST", "/", body=body, headers={
                "Content-Type": "application/json", "X-Hub-Signature-256": sign(body, SECRET)})
            ok = conn.getresponse().status == 200
            conn.close()
        except (OSError, http.client.HTTPException):
            ok = False
        elapsed = time.perf_counter() - started
        with self.lock:
            if ok:
                self.latencies.append(elapsed)
            else:
                self.errors += 1


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(p / 100 * len(sorted_values)))]


def offered(host: str, port: int, rate: float, seconds: float, workers: int,
            timeout: float = 30) -> tuple:
    client = Client(host, port, timeout)
    total = int(rate * seconds)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        start = time.perf_counter() + 0.2
        for n in range(total):
            due = start + n / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(client.post, due)  # latency counted from the schedule
        wall = time.perf_counter() - start
    return client, total, wall


def closed(host: str, port: int, clients: int, seconds: float) -> tuple:
    client = Client(host, port)
    stop = time.perf_counter() + seconds

    def loop():
        while time.perf_counter() < stop:
            client.post(time.perf_counter())

    threads = [threading.Thread(target=loop) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return client, time.perf_counter() - began


def describe(client: Client) -> str:
    lat = sorted(client.latencies)
    over = sum(1 for x in lat if x > 1.0)
    share = 100 * over / len(lat) if lat else 0.0
    return (f"p50 {percentile(lat, 50) * 1000:7.1f} ms   "
            f"p99 {percentile(lat, 99) * 1000:7.1f} ms   "
            f"max {(lat[-1] if lat else 0) * 1000:7.1f} ms   >1 s: {share:.2f}%   "
            f"errors: {client.errors}")


def lines_on_disk(logs: Path) -> int:
    return sum(f.read_bytes().count(b"\n") for f in logs.glob("*.jsonl"))


def slow_clients(count: int) -> None:
    """Normal POSTs while ``count`` slow clients hold connections, per deployment."""
    from tests.support.slow_clients import DOCUMENTED, GTHREAD, SlowClients, start_gunicorn, stop

    print(f"\nnormal POSTs at 40/s for 10 s with {count} slow-header clients open:")
    for label, settings in (("gthread 2 x 32 (old README)", GTHREAD),
                            ("gevent (gunicorn_conf.py)", DOCUMENTED)):
        with tempfile.TemporaryDirectory(prefix="bench-receiver-") as tmp:
            proc, url = start_gunicorn(Path(tmp) / "webhook-logs", SECRET, "bench", settings)
            host, port = re.search(r"//([\d.]+):(\d+)/", url).groups()
            slow = None
            try:
                slow = SlowClients(host, int(port), count, seconds=60)
                client, _, _ = offered(host, int(port), 40, 10, 64, timeout=5)
                held, again = slow.open(), slow.reconnects
            finally:
                if slow:
                    slow.close()
                stop(proc)
        print(f"  {label:28s} {describe(client)}\n  {'':28s} slow clients open at the end: "
              f"{held}, cut by the server and opened again: {again}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=240, help="offered requests/s (3 x 80)")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=64, help="client threads, open loop")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients, ceiling")
    parser.add_argument("--logs", type=Path, help="journal folder (default: a temporary one)")
    parser.add_argument("--fsync-ms", type=float, default=0,
                        help="make each fsync this much slower, to see group commit at work")
    parser.add_argument("--slow", type=int, default=1000,
                        help="slow clients held open in the last phase (0: skip it)")
    parser.add_argument("--big", type=int, default=20,
                        help="clients holding a 3 MB body, capped and not (0: skip it)")
    parser.add_argument("--only-big", action="store_true", help="run the --big phase alone")
    args = parser.parse_args()
    if args.big:
        big_bodies(args.big)
    if args.only_big:
        return 0
    if args.slow:
        slow_clients(args.slow)

    with tempfile.TemporaryDirectory(prefix="bench-receiver-") as tmp:
        logs = args.logs or Path(tmp) / "webhook-logs"
        logs.mkdir(parents=True, exist_ok=True)
        before = lines_on_disk(logs)
        proc, host, port = start_receiver(logs, args.fsync_ms)
        try:
            print(f"receiver: python -m runner webhook serve (wsgiref, thread per connection), "
                  f"journal in {logs}, fsync per group commit; {os.cpu_count()} CPUs")
            if args.fsync_ms:
                print(f"simulated slow disk: every fsync +{args.fsync_ms:g} ms, so one fsync "
                      f"per request could not exceed {1000 / args.fsync_ms:.0f} req/s")
            client, total, wall = offered(host, port, args.rate, args.seconds, args.workers)
            accepted = len(client.latencies)
            lat = sorted(client.latencies)
            print(f"\noffered {args.rate:.0f} req/s for {args.seconds:.0f} s ({total} requests): "
                  f"accepted {accepted} ({accepted / wall:.1f} req/s)")
            print("  " + describe(client))
            meets = (percentile(lat, 50) <= 0.25 and accepted == total
                     and sum(1 for x in lat if x > 1.0) < 0.01 * total)
            print(f"  Meta's target (median <= 250 ms, < 1% over 1 s): "
                  f"{'met' if meets else 'NOT met'}")

            ceiling, wall = closed(host, port, args.clients, min(args.seconds, 10))
            print(f"\nceiling: {args.clients} concurrent clients for {wall:.0f} s: "
                  f"{len(ceiling.latencies) / wall:.1f} accepted req/s")
            print("  " + describe(ceiling))
        finally:
            proc.terminate()
            proc.wait(10)
            proc.stdout.close()
        on_disk = lines_on_disk(logs) - before
        answered = len(client.latencies) + len(ceiling.latencies)
        print(f"\ndurability: {answered} answered 200, {on_disk} lines on disk "
              f"({'ok' if on_disk >= answered else 'LOST LINES'})")
        return 0 if on_disk >= answered else 1


if __name__ == "__main__":
    raise SystemExit(main())
