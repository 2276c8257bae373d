"""Training throughput per Keras backend on this machine: the same network, batch and data, back to back.

Each configuration runs in its own interpreter (a Keras backend is chosen once per process): convnet-mnist
with its preprocessing layers, the fast recipe's optimizer, batches of 256 real MNIST digits from
`pipeline.make`; a few warm-up steps (compilation), then timed steps. Per backend: float32 and
mixed_bfloat16, and jit on/off where the backend has a choice; then the input pipelines alone (tf.data and
PyDataset) against the fastest training step: the pipeline must outrun the step at least tenfold.

    CNNLAB_DATA_DIR=../shared/data python bench/backends.py [--steps 20]
"""

import argparse
import json
import os
import subprocess
import sys
import time

CONFIGS = [  # (backend, dtype policy, jit_compile)
    ("tensorflow", "float32", False),
    ("tensorflow", "float32", True),
    ("tensorflow", "mixed_bfloat16", False),
    ("jax", "float32", True),
    ("jax", "mixed_bfloat16", True),
    ("torch", "float32", False),
    ("torch", "mixed_bfloat16", False),
]


def measure_step(policy, jit, steps, warmup=3, batch_size=256):
    """(images/s of `steps` training steps after `warmup` ones, seconds of the warm-up) in this process."""
    import keras

    from cnnlab.data import pipeline
    from cnnlab.train.reproduce import _build, compile_model

    run = _build("convnet-mnist", "fast", 1, 0, "mnist", policy)
    compile_model(run.model, run.recipe, 1000, jit_compile=jit)
    splits = pipeline.make(run.splits.data, batch_size=batch_size, engine="pydataset")
    batches = [splits.train[i] for i in range(warmup + steps)]
    start = time.perf_counter()
    for images, labels in batches[:warmup]:
        run.model.train_on_batch(images, keras.utils.to_categorical(labels, 10))
    compiled = time.perf_counter() - start
    start = time.perf_counter()
    for images, labels in batches[warmup:]:
        loss, *_ = run.model.train_on_batch(images, keras.utils.to_categorical(labels, 10))  # floats: finished
    seconds = time.perf_counter() - start
    return steps * batch_size / seconds, compiled, float(loss)


def measure_pipeline(engine, batch_size=256, passes=2):
    """Images/s of whole passes over the MNIST training split (after one pass that fills caches)."""
    from cnnlab.data import pipeline

    splits = pipeline.make("mnist", batch_size=batch_size, engine=engine)
    for _ in splits.train:
        pass
    start = time.perf_counter()
    for _ in range(passes):
        for _ in splits.train:
            pass
    return passes * splits.train_size / (time.perf_counter() - start)


def child(args):
    if args.pipeline:
        print(json.dumps({"images_per_s": measure_pipeline(args.pipeline)}))
    else:
        rate, compiled, loss = measure_step(args.policy, args.jit == "on", args.steps)
        print(json.dumps({"images_per_s": rate, "warmup_s": compiled, "loss": loss}))


def run_child(backend, *options):
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, __file__, "--child", *options], capture_output=True, text=True, env=env)
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20, help="timed training steps per configuration")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--policy", help=argparse.SUPPRESS)
    parser.add_argument("--jit", help=argparse.SUPPRESS)
    parser.add_argument("--pipeline", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    print(f"convnet-mnist, batch 256, {args.steps} timed steps after 3 warm-up steps; one process per line")
    print(f"{'backend':<11} {'policy':<15} {'jit':<4} {'images/s':>9} {'warm-up s':>9}")
    best = 0.0
    for backend, policy, jit in CONFIGS:
        result = run_child(backend, "--policy", policy, "--jit", "on" if jit else "off", "--steps", str(args.steps))
        if "error" in result:
            print(f"{backend:<11} {policy:<15} {'on' if jit else 'off':<4} failed: {result['error']}")
            continue
        best = max(best, result["images_per_s"])
        print(
            f"{backend:<11} {policy:<15} {'on' if jit else 'off':<4} {result['images_per_s']:9.0f} "
            f"{result['warmup_s']:9.1f}",
            flush=True,
        )
    for engine, backend in (("tf.data", "tensorflow"), ("pydataset", "jax")):
        rate = run_child(backend, "--pipeline", engine).get("images_per_s", float("nan"))
        print(f"input pipeline {engine:<9}: {rate:9.0f} images/s, {rate / best:.0f}x the fastest training step")


if __name__ == "__main__":
    main()
