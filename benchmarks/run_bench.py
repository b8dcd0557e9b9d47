"""Benchmark script: same as ``immunocycle bench``; ratios against references in the same process.

Usage: ``python benchmarks/run_bench.py [--case depillis] [--n 10000]``
"""

from immunocycle.cli import app

if __name__ == "__main__":
    app(["bench", "--json", *__import__("sys").argv[1:]])
