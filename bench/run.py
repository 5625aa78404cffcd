#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""rmem against nbdkit and the raw TCP floor, side by side, in one run.

    bench/run.py [--reps N] [--runtime S] [--size SIZE] [--modes 1cpu,2cpu]
                 [--cases a,b] [--out PREFIX] [--quick]

Starts a donor (rmem-poold) and nbdkit's memory plugin on loopback, then
for every job in bench/jobs/ runs fio through rmem's engine and through
fio's own nbd engine, and rmem-floor (a bare TCP request/response of the
same bytes). The systems take turns within each repetition, in an order
that rotates, so drift on a shared machine falls on all of them. Medians
of the repetitions and their ratios go to PREFIX.md (Markdown), PREFIX.png
(gnuplot) and PREFIX.json (every measurement).

Modes: "1cpu" pins client and server to one CPU, so the figures measure
the software stacks; "2cpu" leaves placement to the scheduler, as two
hosts would (client and server on different CPUs, so every request pays
a cross-CPU wake-up, which in a VM is an IPI through the hypervisor).
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.abspath(os.environ.get("RMEM_BUILD", os.path.join(ROOT, "build")))
JOBS = os.path.join(ROOT, "bench", "jobs")

# job -> rmem-floor arguments for the same bytes on the wire (None: no
# single-direction equivalent)
CASES = [
    ("randread-4k-qd1", ["--depth", "1"]),
    ("randread-4k-qd32", ["--depth", "32"]),
    ("randwrite-4k-qd1", ["--depth", "1", "--write"]),
    ("randwrite-4k-qd32", ["--depth", "32", "--write"]),
    ("randrw70-4k-qd32", None),
    ("seqread-64k-qd8", ["--depth", "8", "--bs", "65536"]),
    ("seqwrite-64k-qd8", ["--depth", "8", "--bs", "65536", "--write"]),
]
# rmem: the engine over one connection to a donor as configured by
# default; rmem2: over two connections to a donor with two event loops
# ([server] threads = 2), which serves them side by side: how one job
# uses two donor CPUs
SYSTEMS = ["rmem", "rmem2", "nbdkit", "floor"]

# The targets, checked against the medians
TARGETS = [
    ("randread-4k-qd1", "lat_mean_us", "rmem", "floor", "<=", 1.3,
     "mean latency at most 1.3x the raw TCP floor"),
    ("randread-4k-qd1", "iops", "rmem", "nbdkit", ">=", 3.0,
     "at least 3x nbdkit's IOPS"),
    ("randread-4k-qd32", "iops", "rmem", "nbdkit", ">=", 2.0,
     "at least 2x nbdkit's IOPS"),
    ("randread-4k-qd32", "iops", "rmem2", "nbdkit", ">=", 2.0,
     "two connections: at least 2x nbdkit's IOPS"),
]


def die(msg):
    print("bench: " + msg, file=sys.stderr)
    sys.exit(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            die(f"{what} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    die(f"{what} did not listen on port {port} within {timeout} s")


def pin(pid, cpus):
    subprocess.run(["taskset", "-a", "-p", "-c", cpus, str(pid)],
                   check=True, stdout=subprocess.DEVNULL)


def start_donor(tmp, name, key, size, threads):
    """rmem-poold on loopback with [server] threads; (process, port)."""
    conf = os.path.join(tmp, name + ".conf")
    log = os.path.join(tmp, name + ".log")
    with open(conf, "w") as f:
        f.write(f"[server]\nlisten = 127.0.0.1\nport = 0\nthreads = {threads}\n"
                f"[pool]\nsize = {size * 2}\nlock = no\n"
                f"[auth]\nkey_file = {key}\nquota = {size * 2}\n"
                f"[log]\nlevel = warning\n")
    portfile = os.path.join(tmp, name + ".port")
    proc = subprocess.Popen(
        [os.path.join(BUILD, "rmem-poold"), "-f", "-c", conf,
         "--port-file", portfile], stderr=open(log, "w"))
    end = time.time() + 60
    while not (os.path.exists(portfile) and os.path.getsize(portfile)):
        if proc.poll() is not None or time.time() > end:
            die("rmem-poold did not start: " + open(log).read())
        time.sleep(0.05)
    return proc, int(open(portfile).read())


class Servers:
    """Two donors and nbdkit, all on loopback, all ended on exit: the
    donor as configured by default (threads = auto), and one with two
    event loops for rmem2's two connections."""

    def __init__(self, tmp, size):
        self.tmp = tmp
        key = os.path.join(tmp, "key")
        subprocess.run([os.path.join(BUILD, "rmemctl"), "-q", "keygen", key],
                       check=True)
        self.key = key
        self.donor, self.donor_port = start_donor(tmp, "poold", key, size, "auto")
        self.donor2, self.donor2_port = start_donor(tmp, "poold2", key, size, 2)
        self.nbd_port = free_port()
        self.nbdkit = subprocess.Popen(
            ["nbdkit", "--exit-with-parent", "-f", "-i", "127.0.0.1",
             "-p", str(self.nbd_port), "memory", str(size * 2)],
            stderr=open(os.path.join(tmp, "nbdkit.log"), "w"))
        wait_port(self.nbd_port, self.nbdkit, "nbdkit")

    def pin(self, cpus):
        for p in (self.donor, self.donor2, self.nbdkit):
            pin(p.pid, cpus)

    def stop(self):
        for p in (self.donor, self.donor2, self.nbdkit):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()


def engine_args(system, srv):
    if system in ("rmem", "rmem2"):
        port = srv.donor2_port if system == "rmem2" else srv.donor_port
        return ["--ioengine=external:" + os.path.join(BUILD, "rmem-fio.so"),
                f"--donor=127.0.0.1:{port}",
                "--key_file=" + srv.key,
                "--connections=" + ("2" if system == "rmem2" else "1")]
    return ["--ioengine=nbd", f"--uri=nbd://127.0.0.1:{srv.nbd_port}/"]


def fio_summary(out):
    """IOPS, mean and p99 latency (us) of a fio JSON result, both
    directions together: p99 is the worse of the two."""
    # engines may log a line before the JSON (nbd: "connected to ...")
    job = json.loads(out[out.index("{"):])["jobs"][0]
    if job.get("error"):
        die(f"fio job {job['jobname']} failed: error {job['error']}")
    iops, ios, lat_sum, p99 = 0.0, 0, 0.0, 0.0
    for d in ("read", "write"):
        r = job[d]
        if not r["total_ios"]:
            continue
        lat = r["lat_ns"]
        iops += r["iops"]
        ios += r["total_ios"]
        lat_sum += lat["mean"] * r["total_ios"]
        pct = lat.get("percentile") or r["clat_ns"].get("percentile", {})
        p99 = max(p99, pct.get("99.000000", 0.0))
    if not ios:
        die(f"fio job {job['jobname']} did no I/O")
    return {"iops": iops, "lat_mean_us": lat_sum / ios / 1e3,
            "lat_p99_us": p99 / 1e3}


def run_one(system, case, srv, args, cpus):
    name, floor = case
    taskset = ["taskset", "-c", cpus]
    if system == "floor":
        if floor is None:
            return None
        out = subprocess.run(
            taskset + [os.path.join(BUILD, "rmem-floor"), "--seconds",
                       str(args.runtime), "--warmup", str(args.ramp)] + floor,
            check=True, capture_output=True, text=True).stdout
        return json.loads(out)
    cmd = taskset + ["fio", "--output-format=json", "--lat_percentiles=1",
                     f"--size={args.size}", "--time_based",
                     f"--runtime={args.runtime}", f"--ramp_time={args.ramp}",
                     ] + engine_args(system, srv) + [
                     os.path.join(JOBS, name + ".fio")]
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=srv.tmp)
    if p.returncode:
        die(f"{system} {name}: fio exited {p.returncode}: {p.stderr.strip()}")
    return fio_summary(p.stdout)


def median(vals, key):
    vals = [v[key] for v in vals if v]
    return statistics.median(vals) if vals else None


def fmt(v, digits=1):
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return f"{v / 1000:.{digits}f}k"
    return f"{v:.{digits}f}"


def ratio(a, b):
    return a / b if a is not None and b else None


def markdown(res, args, meta):
    md = [f"# rmem vs nbdkit vs the TCP floor: loopback, {meta['date']}", "",
          f"Made by `bench/run.py` ({args.reps} repetitions of "
          f"{args.runtime} s after {args.ramp} s of ramp, {args.size >> 20} MiB "
          f"per job; medians). Machine: {meta['cpus']} CPUs, {meta['cpu']}, "
          f"Linux {meta['kernel']}; {meta['fio']}, {meta['nbdkit']}. "
          "How to read it: `bench/README.md`.", ""]
    for mode in args.modes:
        md += [f"## {mode}: " + ("client and server pinned to one CPU"
                                 if mode == "1cpu" else
                                 "placement left to the scheduler"), "",
               "| job | rmem IOPS | rmem×2 IOPS | nbdkit IOPS | floor IOPS "
               "| rmem/nbdkit IOPS | rmem×2/nbdkit IOPS "
               "| rmem mean µs | nbdkit mean µs | floor mean µs | rmem/floor mean "
               "| rmem p99 µs | nbdkit p99 µs | floor p99 µs |",
               "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for name, _ in args.cases:
            m = {s: {k: median(res[mode][name][s], k)
                     for k in ("iops", "lat_mean_us", "lat_p99_us")}
                 for s in SYSTEMS}
            md.append(
                f"| {name} | {fmt(m['rmem']['iops'])} | {fmt(m['rmem2']['iops'])} "
                f"| {fmt(m['nbdkit']['iops'])} | {fmt(m['floor']['iops'])} "
                f"| {fmt(ratio(m['rmem']['iops'], m['nbdkit']['iops']), 2)}× "
                f"| {fmt(ratio(m['rmem2']['iops'], m['nbdkit']['iops']), 2)}× "
                f"| {fmt(m['rmem']['lat_mean_us'])} | {fmt(m['nbdkit']['lat_mean_us'])} "
                f"| {fmt(m['floor']['lat_mean_us'])} "
                f"| {fmt(ratio(m['rmem']['lat_mean_us'], m['floor']['lat_mean_us']), 2)}× "
                f"| {fmt(m['rmem']['lat_p99_us'])} | {fmt(m['nbdkit']['lat_p99_us'])} "
                f"| {fmt(m['floor']['lat_p99_us'])} |")
        md.append("")
    md += ["## Targets", "",
           "| mode | job | target | measured | |", "|---|---|---|---:|---|"]
    for mode in args.modes:
        for name, key, a, b, op, want, text in TARGETS:
            if name not in res[mode]:
                continue
            r = ratio(median(res[mode][name][a], key),
                      median(res[mode][name][b], key))
            ok = r is not None and (r <= want if op == "<=" else r >= want)
            md.append(f"| {mode} | {name} | {text} | {fmt(r, 2)}× | "
                      f"{'met' if ok else 'missed'} |")
    md += ["", f"![IOPS and mean latency]({os.path.basename(args.out)}.png)", ""]
    return "\n".join(md)


def plot(res, args):
    if not shutil.which("gnuplot"):
        print("bench: gnuplot not found; no plot", file=sys.stderr)
        return
    dat = args.out + ".dat"
    with open(dat, "w") as f:
        for mode in args.modes:
            f.write(f"# {mode}: job rmem rmem2 nbdkit floor (IOPS), then mean us\n")
            for name, _ in args.cases:
                row = [name]
                for key in ("iops", "lat_mean_us"):
                    for s in SYSTEMS:
                        v = median(res[mode][name][s], key)
                        row.append("NaN" if v is None else f"{v:.3f}")
                f.write(" ".join(row) + "\n")
            f.write("\n\n")
    panels = []
    for i, mode in enumerate(args.modes):
        n = len(SYSTEMS)
        for col, title, extra in ((2, "IOPS", "unset logscale y\nset yrange [0:*]"),
                                  (2 + n, "mean latency (µs, log)",
                                   "set logscale y\nset yrange [1:*]")):
            panels.append(
                f"{extra}\nset title '{mode}: {title}'\n"
                f"plot '{dat}' index {i} using {col}:xtic(1) title 'rmem', "
                f"'' index {i} using {col + 1} title 'rmem, 2 connections', "
                f"'' index {i} using {col + 2} title 'nbdkit', "
                f"'' index {i} using {col + 3} title 'TCP floor'")
    script = (
        f"set terminal pngcairo size 1400,{450 * len(args.modes)} font ',9'\n"
        f"set output '{args.out}.png'\n"
        f"set multiplot layout {len(args.modes)},2\n"
        "set style data histograms\nset style histogram clustered gap 1\n"
        "set style fill solid 0.8 border -1\nset xtics rotate by -30\n"
        "set key top right\nset grid ytics\nset yrange [0:*]\n"
        + "\n".join(panels)
        + "\nunset multiplot\n")
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    os.unlink(dat)


def version(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.split("\n")[0]
    except OSError:
        return "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--runtime", type=float, default=3)
    ap.add_argument("--ramp", type=float, default=1)
    ap.add_argument("--size", default="256M",
                    help="bytes each job uses (K/M/G suffixes)")
    ap.add_argument("--modes", default="1cpu,2cpu")
    ap.add_argument("--cases", default=",".join(c for c, _ in CASES))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "loopback"))
    ap.add_argument("--quick", action="store_true",
                    help="one repetition of 1 s: a smoke run, not a measurement")
    args = ap.parse_args()
    if args.quick:
        args.reps, args.runtime, args.ramp = 1, 1, 0.2
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    s = args.size.upper()
    args.size = int(float(s[:-1]) * mult[s[-1]]) if s[-1] in mult else int(s)
    args.modes = [m for m in args.modes.split(",") if m]
    for m in args.modes:
        if m not in ("1cpu", "2cpu"):
            die(f"unknown mode '{m}' (1cpu, 2cpu)")
    known = dict(CASES)
    for c in args.cases.split(","):
        if c not in known:
            die(f"unknown case '{c}' (one of {', '.join(known)})")
    args.cases = [(c, known[c]) for c in args.cases.split(",")]
    for tool in ("fio", "nbdkit", "taskset"):
        if not shutil.which(tool):
            die(f"{tool} is not installed (scripts/install-deps.sh)")
    for f in ("rmem-poold", "rmemctl", "rmem-fio.so", "rmem-floor"):
        if not os.path.exists(os.path.join(BUILD, f)):
            die(f"{BUILD}/{f} is missing: run make")
    ncpu = os.cpu_count() or 1
    allcpus = f"0-{ncpu - 1}"
    meta = {"date": datetime.date.today().isoformat(), "cpus": ncpu,
            "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                         if l.startswith("model name")), "?"),
            "kernel": platform.release(), "fio": version(["fio", "--version"]),
            "nbdkit": version(["nbdkit", "--version"])}

    res = {m: {c: {s: [] for s in SYSTEMS} for c, _ in args.cases}
           for m in args.modes}
    tmp = tempfile.mkdtemp(prefix="rmem-bench.")
    srv = Servers(tmp, args.size)
    try:
        # nbdkit's memory is sparse: fill it, so reads find data as rmem's do
        subprocess.run(["fio", "--name=fill", "--rw=write", "--bs=1M",
                        f"--size={args.size}", "--output=/dev/null"]
                       + engine_args("nbdkit", srv), check=True, cwd=tmp)
        for mode in args.modes:
            cpus = "0" if mode == "1cpu" else allcpus
            srv.pin(cpus)
            for rep in range(args.reps):
                for case in args.cases:
                    k = rep % len(SYSTEMS)
                    order = SYSTEMS[k:] + SYSTEMS[:k]
                    for system in order:
                        r = run_one(system, case, srv, args, cpus)
                        res[mode][case[0]][system].append(r)
                        if r:
                            print(f"{mode} rep {rep + 1}/{args.reps} {case[0]:18s} "
                                  f"{system:6s} {r['iops']:10.0f} IOPS "
                                  f"{r['lat_mean_us']:8.1f} us mean "
                                  f"{r['lat_p99_us']:8.1f} us p99", flush=True)
    finally:
        srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out + ".json", "w") as f:
        json.dump({"meta": meta, "reps": args.reps, "runtime": args.runtime,
                   "size": args.size, "results": res}, f, indent=1)
    md = markdown(res, args, meta)
    with open(args.out + ".md", "w") as f:
        f.write(md)
    plot(res, args)
    print(md)


if __name__ == "__main__":
    main()
