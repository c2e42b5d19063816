"""Renders an EVTX file with python-evtx (an independent parser) in one of the forms analysts
receive: Windows Event XML as `wevtutil` writes it (one <Event> after another, no root) or as
Event Viewer's "Save as XML" (`events`: an <Events> root), or EvtxECmd's CSV or JSON lines
(`evtxecmd-csv`, `evtxecmd-json`: its columns as EvtxECmd/Program.cs maps them, `Payload` the
EventData/UserData element as Json.NET writes XML). Used by svchop's tests of those readers.

Usage: evtx_to_xml.py wevtutil|events|evtxecmd-csv|evtxecmd-json FILE.evtx > OUT
"""
import csv
import json
import sys
import xml.etree.ElementTree as ET

import Evtx.Evtx as evtx

NS = "{http://schemas.microsoft.com/win/2004/08/events/event}"
COLUMNS = ["RecordNumber", "EventRecordId", "TimeCreated", "EventId", "Level", "Provider",
           "Channel", "ProcessId", "ThreadId", "Computer", "UserId", "MapDescription",
           "UserName", "RemoteHost", "PayloadData1", "PayloadData2", "PayloadData3",
           "PayloadData4", "PayloadData5", "PayloadData6", "ExecutableInfo", "HiddenRecord",
           "SourceFile", "Keywords", "Payload"]


def local(tag):
    return tag.split("}", 1)[-1]


def json_net(el):
    """An element as Json.NET's SerializeXmlNode writes it: @attributes, #text, arrays."""
    out = {}
    for k, v in el.attrib.items():
        out["@" + local(k)] = v
    for child in el:
        value = json_net(child)
        key = local(child.tag)
        if key in out:
            if not isinstance(out[key], list):
                out[key] = [out[key]]
            out[key].append(value)
        else:
            out[key] = value
    text = el.text if el.text and el.text.strip() else None
    if not out:
        return text
    if text is not None:
        out["#text"] = text
    return out


def evtxecmd_row(record, path):
    root = ET.fromstring(record.xml())
    sysel = root.find(NS + "System")
    get = lambda name: sysel.find(NS + name)
    attr = lambda name, a: (get(name).get(a) if get(name) is not None else None) or ""
    text = lambda name: (get(name).text if get(name) is not None else None) or ""
    # TimeCreated is System/TimeCreated/@SystemTime (not the record header's time).
    import datetime
    st = attr("TimeCreated", "SystemTime")
    when = datetime.datetime.fromisoformat(st) if st else record.timestamp()
    payload = None
    for part in ("EventData", "UserData"):
        el = root.find(NS + part)
        if el is not None:
            payload = {part: json_net(el)}
    return {
        "RecordNumber": record.record_num(),
        "EventRecordId": text("EventRecordID"),
        "TimeCreated": when.strftime("%Y-%m-%d %H:%M:%S.%f") + "0",
        "TimeCreatedIso": when.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0+00:00",
        "EventId": int(text("EventID") or 0),
        "Level": text("Level"),
        "Provider": attr("Provider", "Name"),
        "Channel": text("Channel"),
        "ProcessId": int(attr("Execution", "ProcessID") or 0),
        "ThreadId": int(attr("Execution", "ThreadID") or 0),
        "Computer": text("Computer"),
        "UserId": attr("Security", "UserID"),
        "HiddenRecord": False,
        "SourceFile": path,
        "Keywords": text("Keywords"),
        "Payload": json.dumps(payload) if payload else "",
    }


def evtxecmd(form, path, out):
    writer = None
    if form == "evtxecmd-csv":
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(COLUMNS)
    with evtx.Evtx(path) as log:
        for record in log.records():
            try:
                row = evtxecmd_row(record, path)
            except Exception as e:  # a damaged record: python-evtx cannot render it
                sys.stderr.write(f"record {record.record_num()}: {e}\n")
                continue
            if writer is not None:
                writer.writerow(["" if row.get(c) is None else str(row.get(c, "")) for c in COLUMNS])
            else:
                obj = {c: row[c] for c in COLUMNS if c in row and row[c] != ""}
                obj["TimeCreated"] = row["TimeCreatedIso"]
                out.write(json.dumps(obj) + "\n")


def main() -> int:
    form, path = sys.argv[1], sys.argv[2]
    out = sys.stdout
    if form.startswith("evtxecmd"):
        evtxecmd(form, path, out)
        return 0
    if form == "events":
        out.write('<?xml version="1.0" encoding="utf-8" standalone="yes"?>\n<Events>\n')
    with evtx.Evtx(path) as log:
        for record in log.records():
            try:
                xml = record.xml()
            except Exception as e:  # a damaged record: python-evtx cannot render it
                sys.stderr.write(f"record {record.record_num()}: {e}\n")
                continue
            out.write(xml.strip())
            out.write("\n" if form == "events" else "")
    if form == "events":
        out.write("</Events>\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
