"""Fallback load generator for webhook_bench.py when wrk is missing: one process, N client threads.

    python _pyload.py <base url> <path> <requests file> <threads> <seconds>  -> JSON on stdout
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
from urllib.parse import urlsplit


def main() -> None:
    base, path, file, threads, seconds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
    lines = open(file).read().splitlines()  # noqa: SIM115 - read once, closed at exit
    host = urlsplit(base)
    lock = threading.Lock()
    state = {"next": 0, "requests": 0, "ok": 0, "errors": 0, "latencies_ms": []}
    deadline = time.monotonic() + seconds

    def worker() -> None:
        conn = http.client.HTTPConnection(host.hostname, host.port, timeout=5)
        while time.monotonic() < deadline:
            with lock:
                line = lines[state["next"] % len(lines)]
                state["next"] += 1
            sig, body = line.split("\t", 1)
            started = time.perf_counter()
            try:
                conn.request("POST", path, body=body.encode(),
                             headers={"X-Signature": sig, "Content-Type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                status = resp.status
                if resp.getheader("connection", "").lower() == "close":
                    conn.close()
            except OSError:
                conn.close()
                with lock:
                    state["errors"] += 1
                continue
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                state["requests"] += 1
                state["ok"] += 200 <= status < 300
                state["latencies_ms"].append(elapsed)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    del state["next"]
    json.dump(state, sys.stdout)


if __name__ == "__main__":
    main()
