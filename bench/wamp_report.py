#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write-amplification report from bench/wamp.sh's guest output.

    wamp_report.py WAMP_TXT KERNEL OUT_PREFIX

Each input line is
    WAMP|kind|delta_lines|<wamp-work's done line>|delta0|delta1|hist0|hist1|errors
with delta0/delta1 the columns of /sys/block/rmem0/rmem/delta after the
fill and after the updates (Documentation/ABI/testing/sysfs-block-rmem),
hist0/hist1 dirty_lines' counts. Writes OUT_PREFIX.md, .json and .png.
"""
import json
import re
import sys

from plot import bars

LINE = 64
HDR = 32           # struct rmem_req_hdr
PATCH_HDR = 16     # struct rmem_patch
PAGE = 4096


def parse(path):
    runs = []
    for line in open(path):
        f = line.rstrip("\n").split("|")
        if len(f) != 9 or f[0] != "WAMP":
            continue
        kind, k, done, d0, d1, h0, h1, errors = f[1:]
        d0 = [int(x) for x in d0.split()]
        d1 = [int(x) for x in d1.split()]
        d = [b - a for a, b in zip(d0, d1)]
        h = [int(b) - int(a) for a, b in zip(h0.split(","), h1.split(","))]
        m = re.search(r"in ([0-9.]+) s .*check (\w+)", done)
        runs.append({
            "kind": kind, "delta_lines": int(k),
            "update_s": float(m.group(1)) if m else None,
            "check": m.group(2) if m else "?",
            "patched": d[0], "whole": d[1], "mismatches": d[2], "busy": d[3],
            "wire_bytes": d[4], "page_bytes": d[5], "reclaimed": d[7],
            "dirty_lines": h, "errors": int(errors),
        })
    return runs


def median_lines(h):
    total = sum(h)
    seen = 0
    for n, c in enumerate(h):
        seen += c
        if total and 2 * seen >= total:
            return n
    return None


def summarize(runs):
    rows = []
    for kind in dict.fromkeys(r["kind"] for r in runs):
        off = [r for r in runs if r["kind"] == kind and r["delta_lines"] == 0]
        on = [r for r in runs if r["kind"] == kind and r["delta_lines"] > 0]
        if not off or not on:
            continue
        off, on = off[0], on[0]
        pages_on = on["patched"] + on["whole"]
        pages_off = off["patched"] + off["whole"]
        h = on["dirty_lines"]
        based = sum(h)
        # the exact dirty set: the changed lines of pages with a base, the
        # whole page for the others, each with a header
        exact = sum(c * (HDR + PATCH_HDR + n * LINE) if n < 64 else c * (HDR + PAGE)
                    for n, c in enumerate(h)) + (pages_on - based) * (HDR + PAGE)
        rows.append({
            "kind": kind,
            "pages_off": pages_off, "pages_on": pages_on,
            "bytes_off": off["wire_bytes"], "bytes_on": on["wire_bytes"],
            "per_page_off": off["wire_bytes"] / pages_off if pages_off else 0,
            "per_page_on": on["wire_bytes"] / pages_on if pages_on else 0,
            "exact_per_page": exact / pages_on if pages_on else 0,
            "patched": on["patched"], "mismatches": on["mismatches"],
            "busy": on["busy"],
            "bytes_for_k": {k: bytes_for_k(on["dirty_lines"], k) for k in KS},
            "based": based, "median_lines": median_lines(h),
            "hist": h,
            "s_off": off["update_s"], "s_on": on["update_s"],
            "checks": [off["check"], on["check"]],
            "errors": off["errors"] + on["errors"],
        })
    for r in rows:
        # per page written: the two runs need not write the same number
        r["reduction"] = (r["per_page_off"] / r["per_page_on"]
                          if r["per_page_on"] else 0)
        # the same without the pages that came back unchanged (a 48-byte
        # PATCH each): swapped in, not written, swapped out again
        same = r["hist"][0] if r["hist"] else 0
        pages = r["pages_on"] - same
        wire = r["bytes_on"] - same * (HDR + PATCH_HDR)
        r["unchanged"] = same
        r["per_page_on_changed"] = wire / pages if pages else 0
        r["reduction_changed"] = (r["per_page_off"] / r["per_page_on_changed"]
                                  if r["per_page_on_changed"] else 0)
    return rows


KS = (4, 8, 16, 32, 48, 63)


def bytes_for_k(h, k):
    """Bytes per page with a base had the threshold been k: worked out from
    the measured histogram (PATCH: headers and n lines; else whole)."""
    total = sum(h)
    if not total:
        return 0
    b = sum(c * (HDR + PATCH_HDR + n * LINE) if n <= k else c * (HDR + PAGE)
            for n, c in enumerate(h))
    return b / total


def hist_buckets(h):
    """Share of pages with a base by changed lines: 0, 1, 2, 3-4, 5-8,
    9-16, 17-32, 33-64."""
    total = sum(h) or 1
    edges = [(0, 0), (1, 1), (2, 2), (3, 4), (5, 8), (9, 16), (17, 32), (33, 64)]
    return [(f"{a}" if a == b else f"{a}-{b}",
             100.0 * sum(h[a:b + 1]) / total) for a, b in edges]


def markdown(rows, kernel):
    out = [f"# Write amplification of swap-out: cache-line deltas off and on",
           "",
           f"Made by `bench/wamp.sh` in one guest boot (Linux {kernel}, QEMU TCG, "
           "512 MiB, donor in the guest, rmem0 of 224 MiB with 32 MiB of spare frames, "
           "each workload on 240 MiB), deltas off (`delta_lines=0`) and on (48); "
           "figures count the workloads' updates only, not their initial fill. "
           "How to read it: `bench/README.md`, \"Write amplification\".",
           "",
           "| workload | pages written off / on | bytes/page off | bytes/page on | "
           "exact dirty set bytes/page | reduction | of which unchanged pages | "
           "reduction, changed pages only | PATCHes | MISMATCHes | "
           "median dirty lines | update time off / on (s) | data check |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        out.append(
            f"| {r['kind']} | {r['pages_off']} / {r['pages_on']} | "
            f"{r['per_page_off']:.0f} | {r['per_page_on']:.0f} | "
            f"{r['exact_per_page']:.0f} | {r['reduction']:.2f}x | "
            f"{100 * r['unchanged'] / r['pages_on'] if r['pages_on'] else 0:.0f}% | "
            f"{r['reduction_changed']:.2f}x | {r['patched']} | "
            f"{r['mismatches']} | {r['median_lines']} | "
            f"{r['s_off']:.1f} / {r['s_on']:.1f} | "
            f"{'ok' if r['checks'] == ['ok', 'ok'] and not r['errors'] else 'FAILED'} |")
    out += ["", "Dirty lines per written page that had a base (deltas on), % of those pages:",
            "", "| workload | pages with a base | " +
            " | ".join(b for b, _ in hist_buckets([0] * 65)) + " |",
            "|---|---:|" + "---:|" * 8]
    for r in rows:
        out.append(f"| {r['kind']} | {r['based']} | " +
                   " | ".join(f"{p:.1f}" for _, p in hist_buckets(r["hist"])) + " |")
    out += ["", "Bytes per page with a base for other thresholds K (delta_lines), "
            "worked out from the histogram above; the runs used 48:", "",
            "| workload | " + " | ".join(f"K={k}" for k in KS) + " |",
            "|---|" + "---:|" * len(KS)]
    for r in rows:
        out.append(f"| {r['kind']} | " +
                   " | ".join(f"{r['bytes_for_k'][k]:.0f}" for k in KS) + " |")
    out += ["", "Pages whose base was another live slot's frame (written whole, "
            "deltas on): " + ", ".join(f"{r['kind']} {r['busy']} of {r['pages_on']}"
                                       for r in rows) + ".",
            "", "Targets (issue 5):", ""]
    for r in rows:
        if r["kind"] == "dense":
            more = r["per_page_on"] / r["per_page_off"] - 1 if r["per_page_off"] else 0
            out.append(f"* dense: {100 * more:+.1f}% bytes per page against whole pages "
                       f"(target: at most +2%): {'met' if more <= 0.02 else 'missed'}")
        else:
            out.append(f"* {r['kind']}: {r['reduction']:.1f}x fewer bytes per page, "
                       f"{r['reduction_changed']:.1f}x counting changed pages only "
                       f"(target: at least 5x): "
                       f"{'met' if r['reduction_changed'] >= 5 else 'missed'}")
    out += ["", "![bytes per page written](write-amp.png)", ""]
    return "\n".join(out)


def plot(rows, png):
    bars(png, [(r["kind"], f"{r['per_page_off']:.1f}", f"{r['per_page_on']:.1f}",
                f"{r['exact_per_page']:.1f}") for r in rows],
         "bytes on the wire per page written",
         ["deltas off (whole pages)", "deltas on", "exact dirty lines"], (10, 40000))


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: wamp_report.py WAMP_TXT KERNEL OUT_PREFIX")
    runs = parse(sys.argv[1])
    rows = summarize(runs)
    if not rows:
        sys.exit("wamp_report: no workload ran both ways")
    prefix = sys.argv[3]
    with open(prefix + ".json", "w") as f:
        json.dump({"kernel": sys.argv[2], "runs": runs, "summary": rows}, f, indent=1)
    md = markdown(rows, sys.argv[2])
    with open(prefix + ".md", "w") as f:
        f.write(md)
    plot(rows, prefix + ".png")
    print(md)


if __name__ == "__main__":
    main()
