#!/usr/bin/env python3
"""Key-to-screen latency of the real workbench, driven in tmux.

Starts `svchop demo` (or `svchop open PATH`) in a tmux session, waits for the findings, then
sends keys that always change the screen (selection down/up in Targets and Timeline, opening
and closing a pivot, switching inspector tabs) and, for each, times from `send-keys` until
`capture-pane` shows a different screen. The figure includes tmux's own round trip (a few ms),
so it is an upper bound of svchop's key-to-frame time.

    python3 bench/tui_keys.py [--hosts 400 --days 10 --noise 1000] [--size 200x60] [--keys 300]
    python3 bench/tui_keys.py --path EVIDENCE
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

ap = argparse.ArgumentParser()
ap.add_argument("--hosts", type=int, default=400)
ap.add_argument("--days", type=int, default=10)
ap.add_argument("--noise", type=int, default=1000)
ap.add_argument("--path", help="evidence to open instead of the demo")
ap.add_argument("--size", default="200x60")
ap.add_argument("--keys", type=int, default=300)
ap.add_argument("--bin", default="target/release/svchop")
a = ap.parse_args()

if not shutil.which("tmux"):
    sys.exit("tmux is needed")
w, h = a.size.split("x")
sock = "svchop-keys-%d" % os.getpid()
tmp = tempfile.mkdtemp()
case = os.path.join(tmp, "bench.svchop-case.json")
if a.path:
    cmd = "%s open '%s' --case '%s'" % (a.bin, a.path, case)
else:
    cmd = "%s demo --hosts %d --days %d --noise %d --case '%s'" % (
        a.bin, a.hosts, a.days, a.noise, case)


def tmux(*args, out=False):
    r = subprocess.run(["tmux", "-L", sock] + list(args), capture_output=True, text=True)
    return r.stdout if out else r.returncode


def screen():
    return tmux("capture-pane", "-p", "-t", "b", out=True)


tmux("new-session", "-d", "-s", "b", "-x", w, "-y", h, cmd)
try:
    t0 = time.monotonic()
    first_s = None
    while True:
        s = screen()
        if first_s is None and ("PARTIAL" in s or "finding(s) loaded" in s):
            first_s = time.monotonic() - t0
        if "finding(s) loaded" in s:
            break
        if time.monotonic() - t0 > 900:
            sys.exit("not loaded after 15 min:\n" + s)
        time.sleep(0.2)
    load_s = time.monotonic() - t0
    # Each step: a key and the key that undoes it, so every press changes the screen.
    steps = [("Down", "Up"), ("Enter", "Tab"), ("j", "k"), ("u", "Escape"), ("2", "1")]
    lat = {}
    n = 0
    while n < a.keys:
        for fwd, back in steps:
            for key in (fwd, back):
                before = screen()
                t = time.monotonic()
                tmux("send-keys", "-t", "b", key)
                while True:
                    s = screen()
                    if s != before:
                        lat.setdefault(key, []).append((time.monotonic() - t) * 1000)
                        break
                    if time.monotonic() - t > 2:
                        break  # this key did not change the screen here: not counted
                n += 1
    every = sorted(x for v in lat.values() for x in v)
    pct = lambda p: every[min(len(every) - 1, int(len(every) * p))]
    print("first findings on screen (partial on a large collection): %.1f s" % first_s)
    print("everything loaded: %.1f s" % load_s)
    print("keys measured: %d of %d sent" % (len(every), n))
    print("key-to-screen ms (incl. tmux): p50 %.1f  p95 %.1f  p99 %.1f  max %.1f"
          % (pct(0.5), pct(0.95), pct(0.99), every[-1]))
    for k, v in sorted(lat.items()):
        v.sort()
        print("  %-7s n=%3d  p50 %.1f  max %.1f" % (k, len(v), v[len(v) // 2], v[-1]))
    # Peak resident memory of the workbench process (the pane's command or its child).
    pane = tmux("list-panes", "-t", "b", "-F", "#{pane_pid}", out=True).strip()
    pids = [pane] + subprocess.run(["pgrep", "-P", pane], capture_output=True,
                                   text=True).stdout.split()
    for pid in pids:
        try:
            with open("/proc/%s/status" % pid) as f:
                status = f.read()
        except OSError:
            continue
        if "svchop" in status.splitlines()[0]:
            hwm = [l for l in status.splitlines() if l.startswith("VmHWM")]
            print("workbench peak RSS: %s" % hwm[0].split(":")[1].strip())
finally:
    tmux("kill-server")
    shutil.rmtree(tmp, ignore_errors=True)
