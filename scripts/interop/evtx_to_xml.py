"""Renders an EVTX file as Windows Event XML with python-evtx (an independent parser), in one
of the forms analysts receive: `wevtutil` (one <Event> after another, no root) or `events`
(Event Viewer's "Save as XML": an <Events> root). Used by svchop's tests of its XML reader.

Usage: evtx_to_xml.py wevtutil|events FILE.evtx > OUT.xml
"""
import sys

import Evtx.Evtx as evtx


def main() -> int:
    form, path = sys.argv[1], sys.argv[2]
    out = sys.stdout
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
