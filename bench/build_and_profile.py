"""Benchmark: time to build and profile every network, cold, and `cnnlab table resnet152` end to end.

Run: `make bench` (or `python bench/build_and_profile.py [names...]`). Prints seconds per network
(build, profile) and, as a ratio baseline measured in the same run, the time to import Keras.
"""

import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def cli_seconds(*args):
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "cnnlab", *args], check=True, capture_output=True)
    return time.perf_counter() - start


def main(names):
    start = time.perf_counter()
    import keras  # noqa: F401

    from cnnlab import models
    from cnnlab.profile import profile

    import_seconds = time.perf_counter() - start
    names = names or models.names()
    print(f"backend {keras.backend.backend()}; import keras + cnnlab: {import_seconds:.2f} s")
    print(f"{'network':20s} {'build s':>8s} {'profile s':>9s} {'layers':>7s}")
    total = 0.0
    for name in names:
        keras.backend.clear_session()
        t0 = time.perf_counter()
        model = models.build(name)
        t1 = time.perf_counter()
        profile(model, **models.get(name).table_options)
        t2 = time.perf_counter()
        total += t2 - t0
        print(f"{name:20s} {t1 - t0:8.2f} {t2 - t1:9.3f} {len(model.layers):7d}")
    print(f"all {len(names)} networks: {total:.1f} s to build and profile ({total / import_seconds:.1f}x the import)")
    process = cli_seconds("table", "resnet152")
    baseline = cli_seconds("networks")  # the same process start and imports, no network built
    print(
        f"`cnnlab table resnet152`: {process:.2f} s wall; `cnnlab networks` (start-up only): {baseline:.2f} s; "
        f"ratio {process / baseline:.2f}"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
