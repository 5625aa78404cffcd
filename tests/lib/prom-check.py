#!/usr/bin/python3
# Parse Prometheus text exposition on stdin with prometheus_client's own
# parser (python3-prometheus-client) and check what a scraper relies on:
# every family has HELP and a TYPE, is printed as one group, counters end
# in _total, histograms have their buckets, _sum and _count, and every
# value is a number. Prints "NAME{LABELS} VALUE" per sample (whole numbers
# in full, for exact assertions); exits 1 with the reason otherwise.
import sys
from prometheus_client.parser import text_string_to_metric_families

text = sys.stdin.read()
seen, kinds = set(), {}
for line in text.splitlines():
    if line.startswith("# TYPE "):
        name, kind = line.split()[2:4]
        if name in seen:
            sys.exit(f"family {name} printed in two groups")
        seen.add(name)
        kinds[name] = kind
        if kind == "counter" and not name.endswith("_total"):
            sys.exit(f"counter {name} does not end in _total")
        if kind not in ("counter", "gauge", "histogram"):
            sys.exit(f"family {name} has type {kind}")
    elif line and not line.startswith("#"):
        name = line.split("{")[0].split()[0]
        for suffix in ("_bucket", "_sum", "_count"):
            base = name[: -len(suffix)]
            if name.endswith(suffix) and kinds.get(base) == "histogram":
                name = base
        if name not in seen:
            sys.exit(f"sample of {name} before its TYPE line")
try:
    for fam in text_string_to_metric_families(text):
        if not fam.documentation:
            sys.exit(f"family {fam.name} has no HELP")
        if fam.type == "histogram":
            names = {s.name for s in fam.samples}
            want = {fam.name + x for x in ("_bucket", "_sum", "_count")}
            if fam.samples and names != want:
                sys.exit(f"histogram {fam.name} has {sorted(names)}")
            for s in fam.samples:
                if s.name.endswith("_bucket") and "le" not in s.labels:
                    sys.exit(f"bucket of {fam.name} without le")
        for s in fam.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            v = int(s.value) if s.value == int(s.value) else s.value
            print(f"{s.name}{{{labels}}} {v}")
except ValueError as e:
    sys.exit(f"not the Prometheus text format: {e}")
