"""Which Keras dtype policy, XLA setting and steps per call to train with on this machine, for each Keras
backend."""

import functools

import keras

POLICIES = ("auto", "float32", "mixed_float16", "mixed_bfloat16")


@functools.cache
def cpu_has_bfloat16():
    """True when the CPU has native bfloat16 arithmetic (x86 flags avx512_bf16 or amx_bf16, Linux)."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            flags = next((line.split(":", 1)[1].split() for line in cpuinfo if line.startswith("flags")), [])
    except OSError:
        return False
    return bool({"avx512_bf16", "amx_bf16"} & set(flags))


def on_gpu(backend=None):
    """True when the Keras backend (default: the current one) computes on a GPU."""
    backend = backend or keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))
    if backend == "jax":
        import jax

        return jax.default_backend() == "gpu"
    if backend == "torch":
        import torch

        return torch.cuda.is_available()
    return False


def resolve(policy="auto"):
    """`policy`, or for "auto": mixed_float16 on a GPU; on a CPU, mixed_bfloat16 under TensorFlow when the CPU
    has native bfloat16 (oneDNN's kernels: measured 1.5-2x the float32 training throughput of convnet-mnist
    on this course's 2-core machine), float32 otherwise: without native bfloat16 it is emulated (measured by
    `bench/backends.py` on a CPU without it: 9x slower under TensorFlow, 2.8x under JAX); JAX's bfloat16 on a CPU
    that has it was not measured. The models' softmax layers stay float32."""
    if policy not in POLICIES:
        raise ValueError(f"unknown precision {policy!r}. Known: {', '.join(POLICIES)}. Received: {policy!r}")
    if policy != "auto":
        return policy
    if on_gpu():
        return "mixed_float16"
    if keras.backend.backend() == "tensorflow" and cpu_has_bfloat16():
        return "mixed_bfloat16"
    return "float32"


def jit_compile(recipe_policy="auto"):
    """What `model.compile(jit_compile=...)` gets for a recipe's `jit_compile` field.

    "auto": Keras' own choice (XLA under JAX, and under TensorFlow on a GPU; none under PyTorch). "gpu": XLA
    only on a GPU under TensorFlow (on this course's 2-core CPU it made TensorFlow's U-Net step 8x slower),
    but always under JAX, whose steps without jit are dispatched op by op (as Keras' "auto" does)."""
    if recipe_policy == "auto":
        return "auto"
    if recipe_policy == "gpu":
        return True if keras.backend.backend() == "jax" else on_gpu()
    raise ValueError(f"unknown jit_compile policy {recipe_policy!r}. Known: auto, gpu. Received: {recipe_policy!r}")


def steps_per_execution(wanted=1):
    """What `model.compile(steps_per_execution=...)` gets for a recipe's field: `wanted`, but 1 under PyTorch,
    whose Keras trainer takes no other. Several steps per call save a Python round trip per step: with 16, an
    epoch of convnet-mnist (469 steps of 128) took 6.5-6.8 s instead of 7.1-7.9 s on this course's 2-core machine
    (TensorFlow, 3 pairs, alternately), to the same test error; callbacks then see one batch end per call."""
    return 1 if keras.backend.backend() == "torch" else wanted
