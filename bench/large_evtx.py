#!/usr/bin/env python3
"""Builds one large EVTX file from the corpus's chunks, for bench/run.sh's single-large-file case.

EVTX chunks are self-contained (their own string and template tables, their own checksums), so
valid chunks of many logs can follow one file header: only the header's chunk count and checksum
are rewritten. Chunks whose header checksum does not verify are left out.

    python3 bench/large_evtx.py OUT.evtx [MiB] [CORPUS_DIR]
"""
import os
import struct
import sys
import zlib

HEADER = 4096
CHUNK = 65536


def chunks(path):
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(b"ElfFile\0"):
        return
    for off in range(HEADER, len(data) - CHUNK + 1, CHUNK):
        c = data[off:off + CHUNK]
        if not c.startswith(b"ElfChnk\0"):
            continue
        want = struct.unpack_from("<I", c, 124)[0]
        if zlib.crc32(c[:120] + c[128:512]) & 0xFFFFFFFF != want:
            continue
        yield c


def main():
    out = sys.argv[1]
    mib = int(sys.argv[2]) if len(sys.argv) > 2 else 400
    corpus = sys.argv[3] if len(sys.argv) > 3 else "../shared/corpus/dev"
    pool = []
    for root, _, files in sorted(os.walk(corpus)):
        if "malformed" in root:
            continue
        for name in sorted(files):
            if name.endswith(".evtx"):
                pool.extend(chunks(os.path.join(root, name)))
    if not pool:
        sys.exit("no valid chunks found")
    n = min(mib * 1024 * 1024 // CHUNK, 0xFFFF)
    header = bytearray(HEADER)
    header[0:8] = b"ElfFile\0"
    struct.pack_into("<QQQ", header, 8, 0, n - 1, 1)  # first, last chunk; next record id
    struct.pack_into("<IHHH", header, 32, 128, 1, 3, HEADER)  # header size, minor, major, block
    struct.pack_into("<H", header, 42, n)  # chunk count
    struct.pack_into("<I", header, 120, 0)  # flags: clean
    struct.pack_into("<I", header, 124, zlib.crc32(bytes(header[:120])) & 0xFFFFFFFF)
    with open(out, "wb") as f:
        f.write(header)
        for i in range(n):
            f.write(pool[i % len(pool)])
    print(f"{out}: {n} chunks ({n * CHUNK // 1048576} MiB) from {len(pool)} distinct corpus chunks")


if __name__ == "__main__":
    main()
