#!/usr/bin/env python3
"""Writes the hostile shapes of bench/README.md "Quadratic shapes" as JSON lines (evtx_dump's
record shape), each next to the same events spread evenly, for `svchop scan` timing:

  python3 bench/shapes.py OUT_DIR N

psexec-hosts: N hosts that each ran PsExec once (Sysmon 1, `PsExec.exe \\\\T -s cmd`), against
psexec-spread: the same N runs from 1,000 hosts (and plain-hosts: N hosts running a plain
process, no finding at all); svcctl-one-host: N svcctl-only pipe
sessions (5145 IPC$\\svcctl) from N addresses on one host, against svcctl-spread: the same
sessions over 1,000 hosts.
"""
import json
import os
import sys


def rec(rid, ms, host, channel, provider, eid, data):
    s, ms = divmod(ms, 1000)
    m, s = divmod(s, 60)
    h, m = divmod(m, 60)
    d, h = divmod(h, 24)
    t = "2024-03-%02dT%02d:%02d:%02d.%03d000Z" % (1 + d, h, m, s, ms)
    return json.dumps({"Event": {"System": {
        "Provider": {"#attributes": {"Name": provider}},
        "EventID": eid, "EventRecordID": rid,
        "TimeCreated": {"#attributes": {"SystemTime": t}},
        "Channel": channel, "Computer": host}, "EventData": data}})


SYSMON = ("Microsoft-Windows-Sysmon/Operational", "Microsoft-Windows-Sysmon")
SEC = ("Security", "Microsoft-Windows-Security-Auditing")


def process(i, n, image, cmd, hosts=None):
    host = "WS%06d.corp.local" % (i if hosts is None else i % hosts)
    return rec(i + 1, i * 37 % (n * 10), host, SYSMON[0], SYSMON[1], 1, {
        "UtcTime": "", "ProcessGuid": "{%08x-0000-0000-0000-000000000000}" % i,
        "ProcessId": 4000 + i % 1000, "Image": image, "CommandLine": cmd,
        "User": "CORP\\admin%d" % (i % 50), "LogonId": "0x%x" % (0x10000 + i),
        "ParentImage": "C:\\Windows\\explorer.exe", "ParentProcessId": 1000,
        "IntegrityLevel": "High"})


def svcctl(i, host):
    return rec(i + 1, i * 50, host, SEC[0], SEC[1], 5145, {
        "SubjectUserSid": "S-1-5-21-1-2-3-%d" % (1100 + i % 50),
        "SubjectUserName": "admin%d" % (i % 50), "SubjectDomainName": "CORP",
        "SubjectLogonId": "0x%x" % (0x200000 + i), "ObjectType": "File",
        "IpAddress": "10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, i & 255), "IpPort": "49152",
        "ShareName": "\\\\*\\IPC$", "ShareLocalPath": "", "RelativeTargetName": "svcctl",
        "AccessMask": "0x12019f", "AccessList": "%%1538 %%1541 %%4416 %%4417 %%4418 %%4419 %%4420 %%4423 %%4424"})


def main():
    out, n = sys.argv[1], int(sys.argv[2])
    os.makedirs(out, exist_ok=True)
    shapes = {
        "psexec-hosts": lambda i: process(
            i, n, "C:\\Tools\\PsExec.exe",
            "PsExec.exe \\\\SRV%06d -s cmd.exe /c whoami" % ((i * 7919 + 1) % n)),
        "psexec-spread": lambda i: process(
            i, n, "C:\\Tools\\PsExec.exe",
            "PsExec.exe \\\\SRV%06d -s cmd.exe /c whoami" % ((i * 7919 + 1) % n), hosts=1000),
        "plain-hosts": lambda i: process(i, n, "C:\\Windows\\notepad.exe", "notepad.exe x.txt"),
        "svcctl-one-host": lambda i: svcctl(i, "SRV01.corp.local"),
        "svcctl-spread": lambda i: svcctl(i, "SRV%04d.corp.local" % (i % 1000)),
    }
    for name, make in shapes.items():
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "events.jsonl"), "w") as f:
            for i in range(n):
                f.write(make(i))
                f.write("\n")


if __name__ == "__main__":
    main()
