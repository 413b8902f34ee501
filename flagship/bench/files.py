"""Files benchmark: /storage/v1 and /render/image through the gateway over loopback.

Starts `python -m gateway` (flagship.bench.gateway's starter) on a free port against a
fresh migrated database, with its byte store in a temporary directory, creates a public
bench bucket with the service key and measures, from one client:

- upload and download throughput (MB/s) of 1 MB and 50 MB objects (reported as lines, with
  their p50/p95; they are not latency operations);
- a 2-megapixel JPEG → 256 px WebP transformation, uncached (the variant cache of that
  version is emptied, untimed, before each call) and cached (the same URL again);
- a signed-URL download of a 100 KB object (a fresh signed URL each time, untimed; the
  GET timed);
- the gateway process's resident memory (VmRSS, sampled every 2 ms by a thread) while
  downloading 1 MB and 50 MB objects: streaming keeps it flat.

Targets (docs/files.md): cached transformation p95 ≤ 10 ms, uncached ≤ 150 ms. Any non-2xx
answer fails the run. Numbers are only meaningful on an otherwise idle machine.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import httpx

from flagship import config
from flagship.bench.gateway import _start
from flagship.bench.runner import Bench, Result, stop_process
from flagship.testing.servers import free_port

MB = 1024 * 1024
BUCKET = "bench-files"


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class RssPeak:
    """The highest VmRSS of `pid` seen while the block runs."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0, threading.Event()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_kb(self.pid))
            time.sleep(0.002)

    def __enter__(self) -> RssPeak:
        self.peak = _rss_kb(self.pid)
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _check(r: httpx.Response) -> httpx.Response:
    if not r.is_success:
        raise RuntimeError(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text}")
    return r


def _jpeg_2mp() -> bytes:
    from PIL import Image

    im = Image.effect_mandelbrot((1632, 1224), (-2.0, -1.2, 1.0, 1.2), 100).convert("RGB")
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90)
    return out.getvalue()


def _timed(samples: list[float], fn) -> None:
    start = time.perf_counter()
    fn()
    samples.append((time.perf_counter() - start) * 1000)


def _throughput(bench: Bench, label: str, size: int, samples: list[float]) -> None:
    r = Result(label, samples)
    mbps = size / MB / (r.percentile(50) / 1000)
    bench.add_line(
        f"{label}: {mbps:.1f} MB/s (p50 {r.percentile(50):.1f} ms, p95 {r.percentile(95):.1f} ms,"
        f" {len(samples)} calls)"
    )


def run(bench: Bench, scale: float) -> None:
    calls = max(10, int(40 * scale))
    big_calls = max(2, int(4 * scale))
    _admin_url, app_url = bench.database()
    from gateway.keys import project_keys

    service = project_keys(config.Settings.from_env().jwt_secret).service_role
    root = Path(tempfile.mkdtemp(prefix="flagship-bench-files-"))
    port = free_port()
    process = _start(app_url, port, FILE_STORAGE_BACKEND_PATH=str(root))
    base = f"http://127.0.0.1:{port}/storage/v1"
    auth = {"apikey": service, "authorization": f"Bearer {service}"}
    try:
        with httpx.Client(base_url=base, headers=auth, timeout=120) as c:
            _check(
                c.post(
                    "/bucket",
                    json={
                        "id": BUCKET,
                        "public": True,
                        "file_size_limit": 60 * MB,
                        "allowed_mime_types": ["application/octet-stream", "image/jpeg"],
                    },
                )
            )
            blobs = {1: os.urandom(MB), 50: os.urandom(50 * 1000 * 1000), 0: os.urandom(100_000)}
            for label, key, n in (("1 MB", 1, calls), ("50 MB", 50, big_calls)):
                up: list[float] = []
                for i in range(n):
                    _timed(
                        up,
                        lambda k=key, i=i: _check(
                            c.post(
                                f"/object/{BUCKET}/{k}mb-{i}.bin",
                                content=blobs[k],
                                headers={"content-type": "application/octet-stream"},
                            )
                        ),
                    )
                _throughput(bench, f"upload {label}", len(blobs[key]), up)
            _check(
                c.post(
                    f"/object/{BUCKET}/small.bin",
                    content=blobs[0],
                    headers={"content-type": "application/octet-stream"},
                )
            )
            _check(
                c.post(
                    f"/object/{BUCKET}/photo.jpg",
                    content=_jpeg_2mp(),
                    headers={"content-type": "image/jpeg"},
                )
            )
            version = _check(c.get(f"/object/info/{BUCKET}/photo.jpg")).json()["version"]

            peaks = {}
            for label, key, n in (("1 MB", 1, calls), ("50 MB", 50, big_calls)):
                down: list[float] = []
                with RssPeak(process.pid) as rss:
                    for i in range(n):

                        def get(k=key, i=i):
                            with c.stream("GET", f"/object/public/{BUCKET}/{k}mb-{i}.bin") as r:
                                _check(r)
                                got = sum(len(b) for b in r.iter_raw())
                            if got != len(blobs[k]):
                                raise RuntimeError("short download")

                        _timed(down, get)
                peaks[label] = rss.peak
                _throughput(bench, f"download {label}", len(blobs[key]), down)
            bench.add_line(
                f"gateway peak RSS while downloading: 1 MB {peaks['1 MB'] / 1024:.1f} MiB,"
                f" 50 MB {peaks['50 MB'] / 1024:.1f} MiB"
                f" (+{(peaks['50 MB'] - peaks['1 MB']) / 1024:.1f} MiB)"
            )

            url = f"/render/image/public/{BUCKET}/photo.jpg?width=256&format=webp"
            variants = root / "render" / version
            uncached = Result("2 MP JPEG -> 256 px WebP, uncached", note="render + store")
            for _ in range(calls):
                shutil.rmtree(variants, ignore_errors=True)
                _timed(uncached.samples_ms, lambda: _check(c.get(url)))
            bench.results.append(uncached)
            bench.measure(
                "2 MP JPEG -> 256 px WebP, cached",
                lambda i: _check(c.get(url)),
                calls * 2,
                note="variant from disk",
            )

            # A browser holding the URL: no key, no token, its own connection.
            with httpx.Client(base_url=base, timeout=60) as browser:
                signed = Result("signed-URL download 100 KB", note="GET of a fresh signed URL")
                for _ in range(calls * 2):
                    token_url = _check(
                        c.post(f"/object/sign/{BUCKET}/small.bin", json={"expiresIn": 60})
                    ).json()["signedURL"]
                    _timed(signed.samples_ms, lambda u=token_url: _check(browser.get(u)))
                bench.results.append(signed)
    finally:
        stop_process(process)
        shutil.rmtree(root, ignore_errors=True)
