#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The kernel-path report from bench/kernel.sh's guest output.

    kernel_report.py RUNS_TXT --out PREFIX --kernel VER --reps N
                     --devices "a b .." [--load-before L] [--load-after L]
                     [--minutes M] [--check]

Each input line is one run of one workload on one device:
    RUN|device|rep|workload|before|after|check|stat0|stat1|delta0|delta1|extra
or what setting a device up took of the guest's memory:
    MEM|device|rep|MemAvailable kB before|after
before/after: "uptime pswpin pswpout nic_bytes cpu_ticks" of the guest;
stat and delta: /sys/block/rmem0/rmem/{stat,delta} ("-" off rmem,
Documentation/ABI/testing/sysfs-block-rmem); extra: fio's JSON for fio
jobs, the workload's last line otherwise. Writes PREFIX.md, .json, .png.

--check (the smoke test): exit 1 unless every device ran every workload
it should, every swap workload swapped both ways on every device and
checked its data, and rmem counted no I/O error. It asserts no timing.
"""
import argparse
import json
import os
import statistics
import sys

from plot import bars

USER_HZ = 100      # /proc/stat ticks
REF = "rmem-on"
# ratios of the table: rmem with deltas on against each of these
VERSUS = ["nbdkit", "nbd-server", "zram", "rmem-off", "rmem-rq"]


def parse_mem(path):
    """{device: [kB taken by setting it up, one per repetition]}"""
    mem = {}
    for line in open(path, errors="replace"):
        f = line.rstrip("\n").split("|")
        if len(f) == 5 and f[0] == "MEM":
            try:
                mem.setdefault(f[1], []).append(int(f[3]) - int(f[4]))
            except ValueError:
                pass
    return mem


def parse(path):
    runs = []
    for line in open(path, errors="replace"):
        f = line.rstrip("\n").split("|", 11)
        if len(f) != 12 or f[0] != "RUN":
            continue
        dev, rep, work, b, a, check, st0, st1, dl0, dl1, extra = f[1:]
        b = [float(x) for x in b.split()]
        a = [float(x) for x in a.split()]
        r = {"device": dev, "rep": int(rep), "workload": work, "check": check,
             "seconds": a[0] - b[0], "pswpin": int(a[1] - b[1]),
             "pswpout": int(a[2] - b[2]), "nic_bytes": int(a[3] - b[3]),
             "cpu_s": (a[4] - b[4]) / USER_HZ}
        if st0 != "-" and st1 != "-":
            s0 = [int(x) for x in st0.split()]
            s1 = [int(x) for x in st1.split()]
            r["rmem_wire_bytes"] = (s1[5] + s1[6]) - (s0[5] + s0[6])
            r["rmem_errors"] = s1[7] - s0[7]
        if dl0 != "-" and dl1 != "-":
            d = [int(y) - int(x) for x, y in zip(dl0.split(), dl1.split())]
            r["patched"], r["whole"], r["mismatches"] = d[0], d[1], d[2]
        if work.startswith("fio-"):
            r.update(fio(extra))
        else:
            r["extra"] = extra
            if work == "redis":
                kv = dict(x.split("=", 1) for x in extra.split() if "=" in x)
                r["redis_bench_s"] = float(kv.get("bench_s", "nan"))
                r["redis_used_bytes"] = int(kv.get("used", "0") or 0)
        runs.append(r)
    return runs


def fio(text):
    """IOPS and mean latency (us) of fio's JSON, both directions."""
    try:
        job = json.loads(text[text.index("{"):])["jobs"][0]
    except (ValueError, KeyError, IndexError):
        return {"iops": None, "lat_mean_us": None, "check": "FAILED"}
    iops, ios, lat = 0.0, 0, 0.0
    for d in ("read", "write"):
        x = job[d]
        if x["total_ios"]:
            iops += x["iops"]
            ios += x["total_ios"]
            lat += x["lat_ns"]["mean"] * x["total_ios"]
    return {"iops": iops, "lat_mean_us": lat / ios / 1e3 if ios else None,
            "fio_error": job.get("error", 0)}


def med(runs, key):
    v = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(v) if v else None


def spread(runs, key):
    """(max - min) / median of the repetitions: the noise seen."""
    v = [r[key] for r in runs if r.get(key) is not None]
    if len(v) < 2 or not statistics.median(v):
        return None
    return (max(v) - min(v)) / statistics.median(v)


def summarize(runs, devices):
    works = list(dict.fromkeys(r["workload"] for r in runs))
    table = {}
    for w in works:
        table[w] = {}
        for d in devices:
            rs = [r for r in runs if r["workload"] == w and r["device"] == d]
            if not rs:
                continue
            pages = [r["pswpin"] + r["pswpout"] for r in rs]
            t = {"n": len(rs), "checks": sorted(set(r["check"] for r in rs)),
                 "seconds": med(rs, "seconds"), "seconds_spread": spread(rs, "seconds"),
                 "pswpin": med(rs, "pswpin"), "pswpout": med(rs, "pswpout"),
                 "nic_bytes": med(rs, "nic_bytes"), "cpu_s": med(rs, "cpu_s"),
                 "cpu_us_per_page": statistics.median(
                     [1e6 * r["cpu_s"] / p for r, p in zip(rs, pages) if p])
                 if any(pages) else None,
                 "rmem_wire_bytes": med(rs, "rmem_wire_bytes"),
                 "rmem_errors": sum(r.get("rmem_errors", 0) for r in rs),
                 "patched": med(rs, "patched"), "mismatches": med(rs, "mismatches"),
                 "iops": med(rs, "iops"), "iops_spread": spread(rs, "iops"),
                 "lat_mean_us": med(rs, "lat_mean_us"),
                 "redis_bench_s": med(rs, "redis_bench_s")}
            table[w][d] = t
    return works, table


def speed(t, w):
    """Higher is faster: IOPS for fio, 1/run time for the swap workloads."""
    if t is None:
        return None
    if w.startswith("fio-"):
        return t["iops"]
    return 1 / t["seconds"] if t["seconds"] else None


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt(v, digits=2, unit=""):
    if v is None:
        return "-"
    if abs(v) >= 1e6:
        return f"{v / 1e6:.1f}M{unit}"
    if abs(v) >= 1e4:
        return f"{v / 1e3:.1f}k{unit}"
    return f"{v:.{digits}f}{unit}"


def memory_section(mem, devices):
    if not mem:
        return []
    md = ["## Client memory", "",
          "What setting the device up took of the guest's memory: MemAvailable just "
          "before, less just after (median over the repetitions; rmem: the driver's "
          "slot map, checksums and fingerprint table, and the `rmemctl --persist` "
          "supervisor; nbd: the driver's tags, as `nbd-client` exits once the kernel "
          "has its socket). The swap "
          "workloads are sized on the memory found before any device, so every MiB "
          "taken here is a MiB more that they swap.", "",
          "| device | MiB taken |", "|---|---:|"]
    for d in devices:
        if d in mem:
            md.append(f"| {d} | {statistics.median(mem[d]) / 1024:.1f} |")
    return md + [""]


def markdown(works, table, devices, a, runs, mem=None):
    md = [f"# The kernel path: rmem against the kernel nbd client and zram, {a.date}", "",
          f"Made by `bench/kernel.sh` in one guest boot: Debian's Linux {a.kernel} in "
          "QEMU **TCG** (no KVM: every instruction emulated), 256 MiB, 2 CPUs, an e1000 "
          "NIC on QEMU's user network to the servers on this host's loopback; "
          f"{a.reps} repetitions, the devices in an order that rotates from one "
          "repetition to the next; every figure is the median of the repetitions. "
          "**The guest is emulated, so absolute times and IOPS are only context: the "
          "ratios, measured side by side in the same boot, are the result.** "
          f"Host load (1/5/15-min) {a.load_before} before, {a.load_after} after "
          f"({a.minutes} min; the 2-core machine was shared with other engineers' "
          "builds and guests). How to read it: `bench/README.md`, \"The kernel path\".", "",
          "Devices: **rmem-on** `/dev/rmem0` to `rmem-poold` on the host (cache-line "
          "deltas on, delta_lines 48); **rmem-off** the same with delta_lines 0; "
          "**rmem-rq** (when run) rmem-on with its second of two queues a read queue; "
          "**nbdkit** `/dev/nbd0` by `nbd-client -swap` to `nbdkit memory`; "
          "**nbd-server** the same to `nbd-server` exporting a file on /dev/shm; "
          "**zram** the local reference (lzo-rle, no network). NVMe/TCP: not run "
          "(`bench/README.md` says why).", "",
          "## Speed: rmem-on relative to each device", "",
          "fio rows: IOPS (fio, libaio, direct=1); swap rows: run time in seconds. "
          "A ratio is rmem-on's speed over the other's (its IOPS over theirs, their "
          "run time over its own): **above 1, rmem with deltas is faster**. "
          "`rmem-on/rmem-off` above 1: deltas pay for themselves.", "",
          "| workload | " + " | ".join(devices) + " | " +
          " | ".join(f"{REF}/{d}" for d in VERSUS if d in devices) + " | data check |",
          "|---|" + "---:|" * (len(devices) + len([d for d in VERSUS if d in devices])) + "---|"]
    for w in works:
        row = [w]
        for d in devices:
            t = table[w].get(d)
            if t is None:
                row.append("n/a")
            elif w.startswith("fio-"):
                row.append(fmt(t["iops"], 0))
            else:
                row.append(fmt(t["seconds"], 1) + " s")
        ref = table[w].get(REF)
        for d in VERSUS:
            if d in devices:
                row.append(fmt(ratio(speed(ref, w), speed(table[w].get(d), w))) + "×"
                           if table[w].get(d) and ref else "n/a")
        checks = set(c for t in table[w].values() for c in t["checks"])
        row.append("ok" if checks == {"ok"} else "FAILED " + ",".join(sorted(checks)))
        md.append("| " + " | ".join(row) + " |")
    md += ["", "Repetitions completed (a run on a loaded host stops starting devices when "
           "its time budget is spent): " + ", ".join(
               f"{d} {max((t['n'] for w in works for dd, t in table[w].items() if dd == d), default=0)}"
               for d in devices) + "."]
    md += ["", "n/a on zram: memhog's and wamp-work's pages do not compress, and zram keeps "
           "what it swaps in the guest's own RAM, so past the guest's memory they cannot "
           "run on it (redis' values do compress).", "",
           "## Latency of the fio jobs (mean µs, fio's lat)", "",
           "| job | " + " | ".join(devices) + f" | {REF}/nbdkit | {REF}/nbd-server |",
           "|---|" + "---:|" * (len(devices) + 2)]
    for w in works:
        if not w.startswith("fio-"):
            continue
        lat = {d: table[w][d]["lat_mean_us"] for d in devices if d in table[w]}
        md.append(f"| {w} | " + " | ".join(fmt(lat.get(d), 0) for d in devices) +
                  f" | {fmt(ratio(lat.get(REF), lat.get('nbdkit')))}× "
                  f"| {fmt(ratio(lat.get(REF), lat.get('nbd-server')))}× |")
    md += ["", "## Swap workloads: pages, bytes on the wire, client CPU", "",
           "Pages: pswpin + pswpout of the guest during the run. NIC: the e1000's rx + tx "
           "bytes (headers included; zram sends none). rmem: the driver's own wire bytes "
           "(stat columns 6 + 7). CPU: the guest's user + nice + system + irq + softirq "
           "time during the run, per page swapped (both CPUs; TCG, so only the ratios "
           "count). PATCHes: pages rmem-on sent as changed lines.", "",
           "| workload | device | pages in / out | NIC MB | NIC bytes/page | rmem wire MB | "
           "CPU s | CPU µs/page | PATCHes | MISMATCHes | time spread |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for w in works:
        if w.startswith("fio-"):
            continue
        for d in devices:
            t = table[w].get(d)
            if t is None:
                continue
            pages = (t["pswpin"] or 0) + (t["pswpout"] or 0)
            md.append(
                f"| {w} | {d} | {fmt(t['pswpin'], 0)} / {fmt(t['pswpout'], 0)} "
                f"| {fmt(t['nic_bytes'] / 1e6, 1)} "
                f"| {fmt(t['nic_bytes'] / pages if pages else None, 0)} "
                f"| {fmt(t['rmem_wire_bytes'] / 1e6 if t['rmem_wire_bytes'] is not None else None, 1)} "
                f"| {fmt(t['cpu_s'], 1)} | {fmt(t['cpu_us_per_page'], 0)} "
                f"| {fmt(t['patched'], 0)} | {fmt(t['mismatches'], 0)} "
                f"| {fmt(100 * t['seconds_spread'] if t['seconds_spread'] is not None else None, 0)}% |")
    failed = [r for r in runs if r["check"] != "ok"]
    if failed:
        md += ["", "**Data checks that failed** (the workload's own last line):", ""]
        md += [f"* {r['workload']} on {r['device']}, repetition {r['rep']}: "
               f"`{r.get('extra', '')[:160]}`" for r in failed]
    md += ["", "Time spread: (slowest − fastest) / median over the repetitions, the noise "
           "against which a ratio near 1 must be read.", ""]
    md += memory_section(mem, devices)
    md += ["## Against the issue's targets", ""]
    md += targets(works, table)
    md += ["", f"![rmem-on's speed relative to the others]({os.path.basename(a.out)}.png)", ""]
    return "\n".join(md)


def targets(works, table):
    out = []
    for w in works:
        ref, nbd = table[w].get(REF), table[w].get("nbdkit")
        if not ref or not nbd:
            continue
        if w.endswith("qd32"):
            r = ratio(ref["iops"], nbd["iops"])
            out.append(f"* {w}: IOPS {fmt(r)}× nbdkit's (target ≥ 1.5×): "
                       f"{'met' if r and r >= 1.5 else 'missed'}")
        elif w.endswith("qd1"):
            r = ratio(ref["lat_mean_us"], nbd["lat_mean_us"])
            out.append(f"* {w}: mean latency {fmt(r)}× nbdkit's (target ≤ 1×): "
                       f"{'met' if r and r <= 1 else 'missed'}")
        elif not w.startswith("fio-"):
            r = ratio(ref["seconds"], nbd["seconds"])
            b = ratio(ref["nic_bytes"], nbd["nic_bytes"])
            out.append(f"* {w}: run time {fmt(r)}× nbdkit's (target ≤ 0.8×): "
                       f"{'met' if r and r <= 0.8 else 'missed'}; NIC bytes {fmt(b)}× "
                       f"({'fewer' if b and b < 1 else 'not fewer'})")
            off = table[w].get("rmem-off")
            if off:
                r = ratio(ref["seconds"], off["seconds"])
                b = ratio(off["rmem_wire_bytes"], ref["rmem_wire_bytes"])
                out.append(f"  - deltas on / off: run time {fmt(r)}×, wire bytes "
                           f"{fmt(b)}× fewer with deltas")
            if ref.get("cpu_us_per_page") and nbd.get("cpu_us_per_page"):
                r = ratio(ref["cpu_us_per_page"], nbd["cpu_us_per_page"])
                out.append(f"  - client CPU per page swapped {fmt(r)}× nbdkit's "
                           f"(target ≤ 1×): {'met' if r <= 1 else 'missed'}")
    return out


def check(runs, works, table, devices):
    """The smoke test's assertions: what could fail, never a timing."""
    bad = []
    swapping = [w for w in works if not w.startswith("fio-")]
    fios = [w for w in works if w.startswith("fio-")]
    if not fios or "redis" not in swapping or "memhog" not in swapping:
        bad.append(f"workloads missing: ran {works}")
    for d in devices:
        for w in works:
            if d == "zram" and w != "redis" and not w.startswith("fio-"):
                continue
            if d not in table[w]:
                bad.append(f"{w} did not run on {d}")
    for r in runs:
        where = f"{r['workload']} on {r['device']} (rep {r['rep']})"
        if r["check"] != "ok":
            bad.append(f"{where}: data check {r['check']}: {r.get('extra', '')}")
        if r.get("rmem_errors"):
            bad.append(f"{where}: {r['rmem_errors']} rmem I/O errors")
        if r["workload"].startswith("fio-"):
            if not r.get("iops") or r.get("fio_error"):
                bad.append(f"{where}: fio did no I/O")
        elif r["pswpout"] <= 0 or (r["pswpin"] <= 0 and r["workload"] == "memhog"):
            # every run must swap out; memhog, sized past the memory it
            # finds and reading back every page, must swap in too. The
            # smoke run's small redis and wamp-work may find their pages
            # still in the swap cache, with no read from the device
            bad.append(f"{where}: did not swap "
                       f"{'both ways' if r['workload'] == 'memhog' else 'out'} "
                       f"(pswpin {r['pswpin']}, pswpout {r['pswpout']})")
        if r["device"] != "zram" and r["nic_bytes"] <= 0:  # all but zram are remote
            bad.append(f"{where}: no bytes on the NIC")
        if r["device"].startswith("rmem") and not r.get("rmem_wire_bytes"):
            bad.append(f"{where}: no rmem wire bytes")
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("runs")
    ap.add_argument("--out", required=True)
    ap.add_argument("--kernel", default="?")
    ap.add_argument("--reps", type=int, default=0)
    ap.add_argument("--devices", required=True)
    ap.add_argument("--load-before", default="?")
    ap.add_argument("--load-after", default="?")
    ap.add_argument("--minutes", default="?")
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    import datetime
    a.date = datetime.date.today().isoformat()
    devices = a.devices.split()
    runs = parse(a.runs)
    if not runs:
        sys.exit("kernel_report: no runs")
    works, table = summarize(runs, devices)
    mem = parse_mem(a.runs)
    with open(a.out + ".json", "w") as f:
        json.dump({"kernel": a.kernel, "reps": a.reps, "devices": devices,
                   "load_before": a.load_before, "load_after": a.load_after,
                   "minutes": a.minutes, "runs": runs, "summary": table,
                   "client_memory_kb": mem}, f, indent=1)
    md = markdown(works, table, devices, a, runs, mem)
    with open(a.out + ".md", "w") as f:
        f.write(md)
    others = [d for d in VERSUS if d in devices]
    bars(a.out + ".png",
         [(w, *[f"{ratio(speed(table[w].get(REF), w), speed(table[w].get(d), w)) or 'NaN'}"
                for d in others]) for w in works],
         "rmem-on speed over the other (above 1: rmem faster)", [f"vs {d}" for d in others],
         (0.1, 10))
    print(md)
    if a.check:
        bad = check(runs, works, table, devices)
        for b in bad:
            print("FAIL: " + b, file=sys.stderr)
        if bad:
            sys.exit(1)
        print(f"kernel_report: {len(runs)} runs on {len(devices)} devices: every "
              "device swapped, every workload checked its data")


if __name__ == "__main__":
    main()
