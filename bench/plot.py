# SPDX-License-Identifier: GPL-2.0-or-later
"""Plots of the bench reports, drawn by gnuplot (gnuplot-nox)."""
import os
import subprocess
import sys


def bars(png, rows, ylabel, titles, yrange=None):
    """Clustered bars on a log scale: rows are (label, value, ...), one bar
    per value, titled by titles. A missing gnuplot is said, not fatal."""
    data = png[:-4] + ".dat"
    with open(data, "w") as f:
        for label, *values in rows:
            f.write(" ".join([label] + [str(v) for v in values]) + "\n")
    series = ", ".join(
        (f"'{data}' using 2:xtic(1)" if i == 0 else f"'' using {i + 2}") + f" title '{t}'"
        for i, t in enumerate(titles))
    script = f"""
set terminal png size 800,420
set output '{png}'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel '{ylabel}'
set logscale y
{f"set yrange [{yrange[0]}:{yrange[1]}]" if yrange else ""}
set grid ytics
set key top center horizontal
plot {series}
"""
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"{os.path.basename(sys.argv[0])}: no plot ({e})", file=sys.stderr)
    finally:
        os.unlink(data)
