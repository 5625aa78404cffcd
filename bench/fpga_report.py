#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Trace-driven report of the FPGA dirty-line tracker (bench/fpga.sh).

    fpga_report.py OUT_PREFIX NAME:STREAM:LOG:TBOUT ...

STREAM is rmem-wbcache's write-back stream (little-endian 64-bit line
addresses, all-ones between epochs), LOG the ring entries the RTL tracker
wrote for it (tb_tracker --log), TBOUT tb_tracker's output (cycles and
counters). Per workload and summed over its epochs: the exact dirty set,
what the tracker logged, the dirty lines it missed (Bloom-filter false
positives: the donor's MISMATCH turns each such page into a full write),
pages marked dense, and the bytes each way of writing back. Writes
OUT_PREFIX.md, .json and .png.
"""
import array
import json
import re
import sys

from plot import bars

PAGE, LINE = 4096, 64
EPOCH_MARK = (1 << 64) - 1
ADDR_MASK = (1 << 42) - 1
EPOCH_BITS = 14


def words(path):
    a = array.array("Q")
    with open(path, "rb") as f:
        a.frombytes(f.read())
    return a


def analyse(name, stream_path, log_path, tb_path):
    stream, log = words(stream_path), words(log_path)
    epochs = [set()]
    writebacks = 0
    for w in stream:
        if w == EPOCH_MARK:
            epochs.append(set())
        else:
            epochs[-1].add(w & ADDR_MASK)
            writebacks += 1
    lines_logged = [set() for _ in epochs]
    pages_dense = [set() for _ in epochs]
    for e in log:
        kind, ep, addr = e >> 62, (e >> 48) & ((1 << EPOCH_BITS) - 1), e & ADDR_MASK
        # epochs are few here: the 14-bit field does not wrap
        if kind == 1:
            lines_logged[ep].add(addr)
        elif kind == 2:
            pages_dense[ep].add(addr >> 6)
        else:
            sys.exit(f"fpga_report: {name}: bad log entry {e:#x}")
    r = dict(name=name, writebacks=writebacks, epochs=len(epochs), entries=len(log),
             dirty_lines=0, dirty_pages=0, logged=0, dense=0, missed=0,
             missed_pages=0, bytes_page=0, bytes_exact=0, bytes_tracker=0)
    for dirty, logged, dense in zip(epochs, lines_logged, pages_dense):
        by_page = {}
        for l in dirty:
            by_page.setdefault(l >> 6, []).append(l)
        r["dirty_lines"] += len(dirty)
        r["dirty_pages"] += len(by_page)
        r["logged"] += len(logged)
        r["dense"] += len(dense)
        r["bytes_page"] += len(by_page) * PAGE
        r["bytes_exact"] += len(dirty) * LINE
        for p, ls in by_page.items():
            if p in dense:
                r["bytes_tracker"] += PAGE
                continue
            sent = sum(1 for l in ls if l in logged)
            missed = len(ls) - sent
            r["missed"] += missed
            # a hidden line: the PATCH's hash fails, the page goes whole
            r["bytes_tracker"] += sent * LINE + (PAGE if missed else 0)
            r["missed_pages"] += 1 if missed else 0
    tb = open(tb_path).read()
    m = re.search(r"(\d+) write-backs in (\d+) cycles.*stalls (\d+)", tb)
    if not m:
        sys.exit(f"fpga_report: {name}: no cycle count in {tb_path}")
    r["cycles"], r["stalls"] = int(m.group(2)), int(m.group(3))
    m = re.search(r"^config (.*?):", tb, re.M)
    r["config"] = m.group(1) if m else "?"
    r["log_bytes"] = 8 * len(log)
    return r


def markdown(rows):
    out = ["# FPGA dirty-line tracker on program traces", "",
           "Store streams from `valgrind --tool=lackey` runs of the write-amplification",
           "workloads, through a write-back cache model (`rmem-wbcache`), into the RTL",
           "tracker under Verilator (`tb_tracker --trace`), "
           f"tracker `{rows[0]['config']}`. `bench/fpga.sh` made this file.", "",
           "| workload | write-backs | epochs | dirty lines | dirty pages | lines logged | pages dense | lines missed (FP) | page-granular bytes | tracker bytes | exact-line bytes | page / tracker | tracker / exact | log bytes | cycles | sweep cycles | write-backs per other cycle |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(
            f"| {r['name']} | {r['writebacks']} | {r['epochs']} | {r['dirty_lines']} | "
            f"{r['dirty_pages']} | {r['logged']} | {r['dense']} | {r['missed']} | "
            f"{r['bytes_page']} | {r['bytes_tracker']} | {r['bytes_exact']} | "
            f"{r['bytes_page'] / r['bytes_tracker']:.1f}x | "
            f"{r['bytes_tracker'] / r['bytes_exact']:.2f}x | {r['log_bytes']} | "
            f"{r['cycles']} | {r['stalls']} | "
            f"{r['writebacks'] / (r['cycles'] - r['stalls']):.3f} |")
    out += ["",
            "* *lines missed*: dirty lines neither logged nor in a page marked dense, hidden",
            "  by a false positive of the line filter or of the page filter's mark bits.",
            "  Each costs its page a full write (the PATCH's page hash fails on the donor),",
            "  never data: the tracker bytes count that.",
            "* *tracker bytes*: per dirty page, 4096 if marked dense, else 64 per logged",
            "  line (plus 4096 if a line was missed); payload only, as for the others.",
            "* *cycles*: the stream fed with nothing in its way (`--calm`). *Sweep cycles*:",
            "  those the stream waited while the reset and every epoch command cleared the",
            "  filters (one cycle per entry of the larger bank); in every other cycle the",
            "  tracker took a write-back.",
            "", "![write-back bytes](fpga-tracker.png)", ""]
    return "\n".join(out)


def plot(rows, png):
    bars(png, [(r["name"], r["bytes_page"], r["bytes_tracker"], r["bytes_exact"]) for r in rows],
         "write-back bytes", ["page-granular", "FPGA tracker", "exact dirty lines"])


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: fpga_report.py OUT_PREFIX NAME:STREAM:LOG:TBOUT ...")
    rows = [analyse(*spec.split(":")) for spec in sys.argv[2:]]
    prefix = sys.argv[1]
    with open(prefix + ".json", "w") as f:
        json.dump(rows, f, indent=1)
    md = markdown(rows)
    with open(prefix + ".md", "w") as f:
        f.write(md)
    plot(rows, prefix + ".png")
    print(md)


if __name__ == "__main__":
    main()
