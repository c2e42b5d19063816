#!/usr/bin/env python3
"""svchop scan --follow: latency from a host folder landing to its findings printed, and memory
after many arrivals against a one-shot scan of the same evidence.

    python3 bench/follow.py [--work DIR] [--svchop target/release/svchop]

1. Latency: a demo case (400 hosts, 10 days, 1000 noise events per host and day: 1,032,790
   events) is followed; once it is loaded, a host folder of about 10k events (a host of another
   demo, renamed so it is a new host) lands in a followed folder, copied (`cp -r`: files are
   taken once settled) and moved in (`mv`: taken at once). Reported: seconds from the copy
   starting to the last status line of the update that read its files, five times each.
2. Memory: a 100-host demo lands one host folder at a time into an empty followed folder; after
   the last update the follower's resident memory (VmRSS) and peak (VmHWM) are compared with
   the peak of `svchop scan` of the final folder.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time


def demo(svchop, out, hosts, days, noise, seed=7):
    if os.path.isdir(out):
        return
    subprocess.run([svchop, "demo", "--headless", "--write", out, "--hosts", str(hosts),
                    "--days", str(days), "--noise", str(noise), "--seed", str(seed)],
                   check=True, stdout=subprocess.DEVNULL)


class Follower:
    """A running `scan --follow`, its status lines timestamped as they arrive."""

    def __init__(self, svchop, paths):
        self.p = subprocess.Popen([svchop, "scan", "--follow", "--format", "jsonl", *paths],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.status = []
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stderr:
            if " file(s)" in line:
                with self.lock:
                    self.status.append((time.time(), line.strip()))

    def count(self):
        with self.lock:
            return len(self.status)

    def wait_quiet(self, after, quiet=2.0, limit=120):
        """Waits until no status line came for `quiet` seconds after index `after`."""
        start = time.time()
        while time.time() - start < limit:
            with self.lock:
                last = self.status[-1][0] if len(self.status) > after else None
            if last is not None and time.time() - last > quiet:
                break
            time.sleep(0.05)
        with self.lock:
            return self.status[after:]

    def memory(self):
        out = {}
        with open(f"/proc/{self.p.pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM"):
                    out[k] = int(v.split()[0]) // 1024
        return out

    def stop(self):
        self.p.send_signal(2)
        return self.p.wait(timeout=30)


def late_host(svchop, work):
    """A host folder of about 10k events, renamed LATE05 (a host the big demo lacks)."""
    src = os.path.join(work, "late-src")
    demo(svchop, src, 8, 10, 7000, seed=8)
    host = os.path.join(work, "late", "LATE05")
    if not os.path.isdir(host):
        os.makedirs(host)
        for name in os.listdir(os.path.join(src, "WS05")):
            with open(os.path.join(src, "WS05", name)) as f:
                text = f.read()
            text = text.replace("ws05.corp.local", "late05.corp.local").replace("WS05", "LATE05")
            with open(os.path.join(host, name), "w") as f:
                f.write(text)
    events = sum(1 for n in os.listdir(host) for _ in open(os.path.join(host, n)))
    return host, events


def latency(svchop, work, runs):
    big = os.path.join(work, "demo1m")
    demo(svchop, big, 400, 10, 1000)
    host, events = late_host(svchop, work)
    print(f"latency: {big} (400 hosts) followed; a {events}-event host folder lands")
    for how in ("cp -r", "mv"):
        times = []
        for _ in range(runs):
            landing = tempfile.mkdtemp(dir=work, prefix="landing-")
            f = Follower(svchop, [big, landing])
            f.wait_quiet(0, quiet=1.0, limit=300)
            n = f.count()
            dest = os.path.join(landing, "LATE05")
            if how == "mv":
                staged = os.path.join(work, "staged-LATE05")
                shutil.rmtree(staged, ignore_errors=True)
                shutil.copytree(host, staged)
                t0 = time.time()
                os.rename(staged, dest)
            else:
                t0 = time.time()
                subprocess.run(["cp", "-r", host, dest], check=True)
            lines = f.wait_quiet(n, quiet=2.0, limit=60)
            f.stop()
            shutil.rmtree(landing, ignore_errors=True)
            if not lines:
                print(f"  {how}: no update seen")
                continue
            took = lines[-1][0] - t0
            times.append(took)
            print(f"  {how}: {took:.2f} s ({len(lines)} update(s)); last: {lines[-1][1]}")
        if times:
            times.sort()
            print(f"  {how}: median {times[len(times) // 2]:.2f} s, max {times[-1]:.2f} s")


def peak_scan(svchop, folder):
    r = subprocess.run(["/usr/bin/time", "-f", "%M", svchop, "scan", "--format", "jsonl", folder],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True)
    return int(r.stderr.strip().splitlines()[-1]) // 1024


def memory(svchop, work, arrivals):
    src = os.path.join(work, f"demo{arrivals}")
    demo(svchop, src, arrivals, 10, 1000, seed=9)
    hosts = sorted(h for h in os.listdir(src) if os.path.isdir(os.path.join(src, h)))
    landing = tempfile.mkdtemp(dir=work, prefix="arrivals-")
    f = Follower(svchop, [landing])
    f.wait_quiet(0, quiet=0.5, limit=10)
    for h in hosts:
        n = f.count()
        subprocess.run(["cp", "-r", os.path.join(src, h), os.path.join(landing, h)], check=True)
        f.wait_quiet(n, quiet=0.8, limit=60)
    mem = f.memory()
    updates = f.count()
    f.stop()
    one = peak_scan(svchop, landing)
    shutil.rmtree(landing, ignore_errors=True)
    print(f"memory: {len(hosts)} host folders landed one by one ({updates} updates): "
          f"follower RSS {mem.get('VmRSS')} MB (peak {mem.get('VmHWM')} MB); "
          f"one-shot scan of the same folder: peak {one} MB; "
          f"ratio {mem.get('VmRSS', 0) / max(one, 1):.2f} (peak {mem.get('VmHWM', 0) / max(one, 1):.2f})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "svchop-follow-bench"))
    ap.add_argument("--svchop", default="target/release/svchop")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--arrivals", type=int, default=100)
    ap.add_argument("--only", choices=["latency", "memory"])
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    svchop = os.path.abspath(a.svchop)
    if not os.path.exists(svchop):
        sys.exit(f"{svchop} missing: cargo build --release")
    if a.only in (None, "latency"):
        latency(svchop, a.work, a.runs)
    if a.only in (None, "memory"):
        memory(svchop, a.work, a.arrivals)


if __name__ == "__main__":
    main()
