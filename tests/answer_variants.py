"""Answers written as students write them, for the grader's tests (tests/grading/test_lab_batches.py).

`VARIANTS[lab][student]` is an `Answer`: the solution cells it rewrites (grade_id: source; every other cell is the
solution's), the tasks it gets wrong, and the saved models it hands in wrong (see `MODEL_MISTAKES`). A right answer written differently (other layer styles, nested models,
loops or vectorised, prints to stdout and stderr, warnings) must keep every point; a wrong one must lose the
points of its own tasks' tests and only those, even when another task's function calls it.
"""

from dataclasses import dataclass, field


@dataclass
class Answer:
    cells: dict  # grade_id of a solution cell: the student's source for it
    wrong: tuple = field(default=())  # grade_ids of the tasks it gets wrong: test_<grade_id> must fail
    models: dict = field(
        default_factory=dict
    )  # a saved model's name: its mistake (MODEL_MISTAKES); its test loses points


# What goes wrong with a saved model (the solution's, changed so by tests/grading/test_lab_batches.py before hand-in). Measured with
# the grader's checks on the quick-mode models of labs 2, 3, 6 and 8: each fails the accuracy check (accuracy 0.07 to
# 0.10 for the classifiers; the U-Net loses its pixel accuracy or its membrane Dice), and passes the counts.
MODEL_MISTAKES = {
    "untrained": "saved before training: the same network with fresh weights",
    "diverged": "saved after the training blew up: every trainable weight NaN",
}


NOISY = '''import logging
import sys
import warnings

logging.basicConfig(level=logging.INFO)


def noisy(what):
    """What a student leaves in while debugging: a print, a line on stderr, a warning, a log record."""
    print("computing", what)
    print("debug:", what, file=sys.stderr)
    warnings.warn(f"a student's own warning about {what}")
    logging.getLogger("student").info("done with %s", what)


'''

# -- lab 1: convolution in NumPy --

CONV2D = {
    "windows": NOISY
    + '''def conv2d(x, h):
    """Vectorised: every window at once, the kernel flipped."""
    noisy("conv2d")
    x, h = np.asarray(x, dtype=float), np.asarray(h, dtype=float)
    windows = np.lib.stride_tricks.sliding_window_view(x, h.shape)
    return np.einsum("ijab,ab->ij", windows, h[::-1, ::-1])''',
    "pixel_loops": """def conv2d(x, h):
    x, h = np.asarray(x, dtype=float), np.asarray(h, dtype=float)
    kh, kw = h.shape
    flipped = np.flip(h)
    out = np.empty((x.shape[0] - kh + 1, x.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(x[i:i + kh, j:j + kw] * flipped)
    return out""",
    "no_flip": """def conv2d(x, h):
    x, h = np.asarray(x, dtype=float), np.asarray(h, dtype=float)
    windows = np.lib.stride_tricks.sliding_window_view(x, h.shape)
    return np.einsum("ijab,ab->ij", windows, h)""",
    "full_size": """def conv2d(x, h):
    x, h = np.asarray(x, dtype=float), np.asarray(h, dtype=float)
    kh, kw = h.shape
    padded = np.pad(x, ((kh - 1, kh - 1), (kw - 1, kw - 1)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, h.shape)
    return np.einsum("ijab,ab->ij", windows, h[::-1, ::-1])""",
    "one_axis_flipped": """def conv2d(x, h):
    x, h = np.asarray(x, dtype=float), np.asarray(h, dtype=float)
    windows = np.lib.stride_tricks.sliding_window_view(x, h.shape)
    return np.einsum("ijab,ab->ij", windows, h[::-1])""",
}
CROSS_CORRELATE2D = {
    "windows": """def cross_correlate2d(x, h):
    windows = np.lib.stride_tricks.sliding_window_view(np.asarray(x, dtype=float), np.shape(h))
    return (windows * np.asarray(h, dtype=float)).sum(axis=(2, 3))""",
    "flip_call": """def cross_correlate2d(x, h):
    return conv2d(x, np.flip(h))""",
    "flipped": """def cross_correlate2d(x, h):
    return conv2d(x, h)""",
    "transposed": """def cross_correlate2d(x, h):
    return conv2d(x, np.asarray(h).T)""",
}
KERAS_CONV2D = {
    "flip_op": """def keras_conv2d(x, h):
    x = np.asarray(x, dtype="float32")
    h = np.asarray(h, dtype="float32")
    kernel = ops.reshape(ops.flip(h, axis=(0, 1)), (*h.shape, 1, 1))
    return np.asarray(ops.conv(ops.reshape(x, (1, *x.shape, 1)), kernel))[0, :, :, 0]""",
    "expand_and_squeeze": """def keras_conv2d(x, h):
    images = np.expand_dims(np.asarray(x, dtype="float32"), axis=(0, -1))
    kernel = np.expand_dims(np.flip(np.asarray(h, dtype="float32")), axis=(-2, -1)).copy()
    return ops.convert_to_numpy(ops.squeeze(ops.conv(images, kernel, padding="valid"), axis=(0, 3)))""",
    "no_flip": """def keras_conv2d(x, h):
    x = np.asarray(x, dtype="float32")
    h = np.asarray(h, dtype="float32")
    return ops.convert_to_numpy(ops.conv(x[None, :, :, None], h[:, :, None, None]))[0, :, :, 0]""",
    "a_tensor": """def keras_conv2d(x, h):
    x = np.asarray(x, dtype="float32")
    h = np.ascontiguousarray(np.asarray(h, dtype="float32")[::-1, ::-1])
    return ops.conv(x[None, :, :, None], h[:, :, None, None])[0, :, :, 0]""",
}
OUTPUT_SIZE = {
    "floor": """def output_size(n, k, stride=1, padding=0):
    return int(np.floor((n - k + 2 * padding) / stride)) + 1""",
    "no_padding": """def output_size(n, k, stride=1, padding=0):
    return (n - k) // stride + 1""",
    "true_division": """def output_size(n, k, stride=1, padding=0):
    return (n + 2 * padding - k) / stride + 1""",
}
CONV2D_STRIDED = {
    "windows": """def conv2d_strided(x, h, stride=1, padding=0):
    padded = np.pad(np.asarray(x, dtype=float), padding, mode="constant")
    windows = np.lib.stride_tricks.sliding_window_view(padded, np.shape(h))[::stride, ::stride]
    return np.einsum("ijab,ab->ij", windows, np.flip(np.asarray(h, dtype=float)))""",
    "loops": """def conv2d_strided(x, h, stride=1, padding=0):
    x = np.pad(np.asarray(x, dtype=float), padding)
    h = np.flip(np.asarray(h, dtype=float))
    kh, kw = h.shape
    rows, cols = output_size(x.shape[0], kh, stride), output_size(x.shape[1], kw, stride)
    y = np.empty((rows, cols))
    for i in range(rows):
        for j in range(cols):
            y[i, j] = (x[i * stride:i * stride + kh, j * stride:j * stride + kw] * h).sum()
    return y""",
    "no_padding": """def conv2d_strided(x, h, stride=1, padding=0):
    return conv2d(x, h)[::stride, ::stride]""",
    "rows_only": """def conv2d_strided(x, h, stride=1, padding=0):
    return conv2d(np.pad(np.asarray(x, dtype=float), padding), h)[::stride]""",
}
CONV_LAYER = {
    "stacked_maps": """def conv_layer(x, w, b):
    x, w, b = np.asarray(x, dtype=float), np.asarray(w, dtype=float), np.asarray(b, dtype=float)
    maps = np.stack([np.sum([cross_correlate2d(x[..., c], w[..., c, j]) for c in range(x.shape[-1])], axis=0)
                     for j in range(w.shape[-1])], axis=-1)
    return np.clip(maps + b, 0, None)""",
    "loops": """def conv_layer(x, w, b):
    x, w, b = np.asarray(x, dtype=float), np.asarray(w, dtype=float), np.asarray(b, dtype=float)
    out = np.zeros((x.shape[0] - w.shape[0] + 1, x.shape[1] - w.shape[1] + 1, w.shape[3]))
    for j in range(w.shape[3]):
        for c in range(w.shape[2]):
            out[:, :, j] += cross_correlate2d(x[:, :, c], w[:, :, c, j])
        out[:, :, j] = np.maximum(out[:, :, j] + b[j], 0)
    return out""",
    "no_relu": """def conv_layer(x, w, b):
    x, w, b = np.asarray(x, dtype=float), np.asarray(w, dtype=float), np.asarray(b, dtype=float)
    windows = np.lib.stride_tricks.sliding_window_view(x, w.shape[:2], axis=(0, 1))
    return np.einsum("ijcab,abck->ijk", windows, w) + b""",
    "convolution_not_correlation": """def conv_layer(x, w, b):
    x, w, b = np.asarray(x, dtype=float), np.asarray(w, dtype=float), np.asarray(b, dtype=float)
    return np.stack([np.maximum(sum(conv2d(x[:, :, c], w[:, :, c, j]) for c in range(w.shape[2])) + b[j], 0)
                     for j in range(w.shape[3])], axis=-1)""",
}
CONV_COUNTS = {
    "per_output": """def conv_params(k, c_in, c_out):
    return c_out * (k * k * c_in + 1)


def conv_ops(n_out, k, c_in, c_out):
    per_output_value = k * k * c_in + 1  # the multiply-adds and the bias
    return per_output_value * n_out ** 2 * c_out""",
    "ops_without_bias": """def conv_params(k, c_in, c_out):
    return k * k * c_in * c_out + c_out


def conv_ops(n_out, k, c_in, c_out):
    return n_out * n_out * c_out * k * k * c_in""",
    "params_without_bias": """def conv_params(k, c_in, c_out):
    return k * k * c_in * c_out


def conv_ops(n_out, k, c_in, c_out):
    return n_out * n_out * c_out * (k * k * c_in + 1)""",
}
CONV1X1 = {
    "broadcast_matmul": """def conv1x1(x, w, b):
    return np.asarray(x, dtype=float) @ np.asarray(w, dtype=float) + np.asarray(b, dtype=float)""",
    "with_relu": """def conv1x1(x, w, b):
    return np.maximum(np.asarray(x, dtype=float) @ np.asarray(w, dtype=float) + b, 0)""",
    "no_bias": """def conv1x1(x, w, b):
    return np.tensordot(np.asarray(x, dtype=float), np.asarray(w, dtype=float), axes=1)""",
}

LAB1 = {
    "vectorised_and_noisy": Answer(
        {
            "conv2d": CONV2D["windows"],
            "cross_correlate2d": CROSS_CORRELATE2D["windows"],
            "keras_conv2d": KERAS_CONV2D["flip_op"],
            "output_size": OUTPUT_SIZE["floor"],
            "conv2d_strided": CONV2D_STRIDED["windows"],
            "conv_layer": CONV_LAYER["stacked_maps"],
            "conv_counts": CONV_COUNTS["per_output"],
            "conv1x1": CONV1X1["broadcast_matmul"],
        }
    ),
    "loops": Answer(
        {
            "conv2d": CONV2D["pixel_loops"],
            "keras_conv2d": KERAS_CONV2D["expand_and_squeeze"],
            "conv_layer": CONV_LAYER["loops"],
        }
    ),
    "strided_loops": Answer(
        {
            "conv2d_strided": CONV2D_STRIDED["loops"],
            "cross_correlate2d": CROSS_CORRELATE2D["flip_call"],
            "conv1x1": CONV1X1["broadcast_matmul"],
        }
    ),
    "conv2d_without_flip": Answer({"conv2d": CONV2D["no_flip"]}, wrong=("conv2d",)),
    "full_size_and_no_padding": Answer(
        {"conv2d": CONV2D["full_size"], "output_size": OUTPUT_SIZE["no_padding"]}, wrong=("conv2d", "output_size")
    ),
    "division_and_ops": Answer(
        {"output_size": OUTPUT_SIZE["true_division"], "conv_counts": CONV_COUNTS["ops_without_bias"]},
        wrong=("output_size", "conv_counts"),
    ),
    "relu_misplaced": Answer(
        {
            "conv_layer": CONV_LAYER["no_relu"],
            "conv1x1": CONV1X1["with_relu"],
            "cross_correlate2d": CROSS_CORRELATE2D["flipped"],
        },
        wrong=("conv_layer", "conv1x1", "cross_correlate2d"),
    ),
    "strides_and_flips": Answer(
        {
            "conv2d_strided": CONV2D_STRIDED["no_padding"],
            "keras_conv2d": KERAS_CONV2D["no_flip"],
            "conv2d": CONV2D["one_axis_flipped"],
        },
        wrong=("conv2d_strided", "keras_conv2d", "conv2d"),
    ),
    "second_tries": Answer(
        {
            "keras_conv2d": KERAS_CONV2D["a_tensor"],
            "conv2d_strided": CONV2D_STRIDED["rows_only"],
            "conv_counts": CONV_COUNTS["params_without_bias"],
            "conv_layer": CONV_LAYER["convolution_not_correlation"],
            "conv1x1": CONV1X1["no_bias"],
            "cross_correlate2d": CROSS_CORRELATE2D["transposed"],
        },
        wrong=("keras_conv2d", "conv2d_strided", "conv_counts", "conv_layer", "conv1x1", "cross_correlate2d"),
    ),
}

# -- lab 4: AlexNet and VGG, counted by hand --

LAYER_COUNTS = {
    "dispatch": NOISY
    + """def layer_counts(layer, volume):
    noisy(layer[0])
    size = int(np.prod(volume))

    def conv(k, c_out, stride, padding):
        h, w, c_in = volume
        side = [(n + 2 * padding - k) // stride + 1 for n in (h, w)]
        return c_out * (k * k * c_in + 1), side[0] * side[1] * c_out * (k * k * c_in + 1), (*side, c_out)

    def pool(k, stride):
        return 0, size, tuple((n - k) // stride + 1 for n in volume[:2]) + (volume[2],)

    def fc(n):
        return n * (size + 1), n * (size + 1), (n,)

    handlers = {"conv": conv, "pool": pool, "fc": fc, "norm": lambda: (0, size, tuple(volume)),
                "softmax": lambda: (0, size, tuple(volume))}
    return handlers[layer[0]](*layer[1:])""",
    "match": """def layer_counts(layer, volume):
    match layer:
        case ("conv", k, c_out, stride, padding):
            h, w, c_in = volume
            h, w = (h - k + 2 * padding) // stride + 1, (w - k + 2 * padding) // stride + 1
            weights = k * k * c_in * c_out
            return weights + c_out, (weights + c_out) * h * w, (h, w, c_out)
        case ("pool", k, stride):
            h, w, c = volume
            return 0, h * w * c, ((h - k) // stride + 1, (w - k) // stride + 1, c)
        case ("fc", n):
            inputs = int(np.prod(volume))
            return inputs * n + n, inputs * n + n, (n,)
        case _:
            return 0, int(np.prod(volume)), tuple(volume)""",
    "pool_ops_on_output": """def layer_counts(layer, volume):
    size = int(np.prod(volume))
    if layer[0] == "conv":
        _, k, c_out, stride, padding = layer
        h, w, c_in = volume
        h, w = (h + 2 * padding - k) // stride + 1, (w + 2 * padding - k) // stride + 1
        return k * k * c_in * c_out + c_out, h * w * c_out * (k * k * c_in + 1), (h, w, c_out)
    if layer[0] == "pool":
        _, k, stride = layer
        out = ((volume[0] - k) // stride + 1, (volume[1] - k) // stride + 1, volume[2])
        return 0, int(np.prod(out)), out
    if layer[0] == "fc":
        return size * layer[1] + layer[1], size * layer[1] + layer[1], (layer[1],)
    return 0, size, tuple(volume)""",
    "conv_ops_without_bias": """def layer_counts(layer, volume):
    size = int(np.prod(volume))
    if layer[0] == "conv":
        _, k, c_out, stride, padding = layer
        h, w, c_in = volume
        h, w = (h + 2 * padding - k) // stride + 1, (w + 2 * padding - k) // stride + 1
        return k * k * c_in * c_out + c_out, h * w * c_out * k * k * c_in, (h, w, c_out)
    if layer[0] == "pool":
        _, k, stride = layer
        return 0, size, ((volume[0] - k) // stride + 1, (volume[1] - k) // stride + 1, volume[2])
    if layer[0] == "fc":
        return size * layer[1] + layer[1], size * layer[1] + layer[1], (layer[1],)
    return 0, size, tuple(volume)""",
}
NETWORK_TABLE = {
    "recursive": """def network_table(layers, input_volume):
    if not layers:
        return []
    params, ops, volume = layer_counts(layers[0], input_volume)
    return [(params, ops, volume)] + network_table(layers[1:], volume)""",
    "input_volume_every_time": """def network_table(layers, input_volume):
    return [layer_counts(layer, input_volume) for layer in layers]""",
    "last_layer_dropped": """def network_table(layers, input_volume):
    rows, volume = [], tuple(input_volume)
    for layer in layers[:-1]:
        params, ops, volume = layer_counts(layer, volume)
        rows.append((params, ops, volume))
    return rows""",
}
LRN = {
    "padded_sums": """def lrn(a, size=5, k=2.0, alpha=1e-4, beta=0.75):
    a = np.asarray(a, dtype=float)
    half = size // 2
    squares = np.pad(a ** 2, [(0, 0)] * (a.ndim - 1) + [(half, half)])
    window = sum(squares[..., i:i + a.shape[-1]] for i in range(2 * half + 1))
    return a / (k + alpha * window) ** beta""",
    "cumulative_sums": """def lrn(a, size=5, k=2.0, alpha=1e-4, beta=0.75):
    a = np.asarray(a, dtype=float)
    channels, half = a.shape[-1], size // 2
    running = np.concatenate([np.zeros(a.shape[:-1] + (1,)), np.cumsum(a ** 2, axis=-1)], axis=-1)
    top = np.minimum(np.arange(channels) + half + 1, channels)
    bottom = np.maximum(np.arange(channels) - half, 0)
    return a / (k + alpha * (running[..., top] - running[..., bottom])) ** beta""",
    "wraps_around": """def lrn(a, size=5, k=2.0, alpha=1e-4, beta=0.75):
    a = np.asarray(a, dtype=float)
    window = sum(np.roll(a ** 2, shift, axis=-1) for shift in range(-(size // 2), size // 2 + 1))
    return a / (k + alpha * window) ** beta""",
    "alpha_over_size": """def lrn(a, size=5, k=2.0, alpha=1e-4, beta=0.75):
    a = np.asarray(a, dtype=float)
    half, channels = size // 2, a.shape[-1]
    window = np.stack([(a[..., max(0, i - half):i + half + 1] ** 2).sum(-1) for i in range(channels)], axis=-1)
    return a / (k + alpha / size * window) ** beta""",
}
GROUPED = """def grouped_conv_params(k, c_in, c_out, groups=1):
    {body}


GROUPED_LAYERS = [(5, 96, 256), (3, 384, 384), (3, 384, 256)]
saved_by_groups = sum(grouped_conv_params(k, c_in, c_out) - grouped_conv_params(k, c_in, c_out, groups=2)
                      for k, c_in, c_out in GROUPED_LAYERS)
print(f"groups=2 saves {{saved_by_groups:,}} parameters")"""
GROUPED_CONV_PARAMS = {
    "per_group": GROUPED.format(body="return groups * (k * k * (c_in // groups) * (c_out // groups)) + c_out"),
    "outputs_divided_too": GROUPED.format(body="return k * k * (c_in // groups) * (c_out // groups) + c_out"),
    "biases_per_group": GROUPED.format(body="return k * k * (c_in // groups) * c_out + c_out // groups"),
}
VGG_COUNTS = {
    "layer_list": """def vgg_counts(blocks, input_side=224, input_channels=3, num_classes=1000):
    convs = [tuple(int(v) for v in layer[4:].split("-")) for block in blocks for layer in block.split() if layer != "LRN"]
    channels = [input_channels] + [c for _, c in convs]
    params = sum(k * k * c_in * c_out + c_out for (k, c_out), c_in in zip(convs, channels))
    widths = [(input_side // 2 ** len(blocks)) ** 2 * channels[-1], 4096, 4096, num_classes]
    params += sum(n_in * n_out + n_out for n_in, n_out in zip(widths, widths[1:]))
    return len(convs) + 3, params""",
    "lrn_as_a_layer": """def vgg_counts(blocks, input_side=224, input_channels=3, num_classes=1000):
    depth, params, channels, side = 0, 0, input_channels, input_side
    for block in blocks:
        for layer in block.split():
            depth += 1
            if layer == "LRN":
                continue
            k, c_out = (int(v) for v in layer.removeprefix("conv").split("-"))
            params += k * k * channels * c_out + c_out
            channels = c_out
        side //= 2
    n_in = side * side * channels
    for n in (4096, 4096, num_classes):
        params, n_in, depth = params + n_in * n + n, n, depth + 1
    return depth, params""",
    "no_pooling": """def vgg_counts(blocks, input_side=224, input_channels=3, num_classes=1000):
    depth, params, channels = 0, 0, input_channels
    for block in blocks:
        for layer in block.split():
            if layer != "LRN":
                k, c_out = (int(v) for v in layer.removeprefix("conv").split("-"))
                params, channels, depth = params + k * k * channels * c_out + c_out, c_out, depth + 1
    n_in = input_side * input_side * channels
    for n in (4096, 4096, num_classes):
        params, n_in, depth = params + n_in * n + n, n, depth + 1
    return depth, params""",
}
VGG16_LAYERS = {
    "written_out": """def convs(n, c):
    return [("conv", 3, c, 1, 1)] * n + [("pool", 2, 2)]


VGG16_LAYERS = convs(2, 64) + convs(2, 128) + convs(3, 256) + convs(3, 512) + convs(3, 512) + [
    ("fc", 4096), ("fc", 4096), ("fc", 1000), ("softmax",)]""",
    "no_padding": """VGG16_LAYERS = []
for block in CONFIGS["D"]:
    VGG16_LAYERS += [("conv", 3, int(layer.split("-")[1]), 1, 0) for layer in block.split()] + [("pool", 2, 2)]
VGG16_LAYERS += [("fc", 4096), ("fc", 4096), ("fc", 1000), ("softmax",)]""",
    "no_softmax": """VGG16_LAYERS = []
for block in CONFIGS["D"]:
    VGG16_LAYERS += [("conv", 3, int(layer.split("-")[1]), 1, 1) for layer in block.split()] + [("pool", 2, 2)]
VGG16_LAYERS += [("fc", 4096), ("fc", 4096), ("fc", 1000)]""",
}
FIELD = """def field_size(stack):
    {body}


def stack_params(k, n, c):
    return n * (k * k * c * c + c)"""
FIELD_SIZE = {
    "backwards": FIELD.format(
        body="""field = 1
    for kernel, stride in reversed(stack):  # from the top cell down to the input
        field = (field - 1) * stride + kernel
    return field"""
    ),
    "strides_ignored": FIELD.format(body="return 1 + sum(kernel - 1 for kernel, _ in stack)"),
    "kernels_multiplied": FIELD.format(body="return int(np.prod([kernel for kernel, _ in stack]))"),
}
INFLUENCE = {
    "functional": """def influence(n_layers, k, size=11):
    inputs = keras.Input((size, size, 1))
    x = inputs
    for n in range(n_layers):
        x = keras.layers.Conv2D(1, (k, k), padding="same", use_bias=False, kernel_initializer=keras.initializers.Ones(),
                                name=f"ones_{n}")(x)
    impulse = np.zeros((1, size, size, 1))
    impulse[0, size // 2, size // 2] = 1
    return keras.Model(inputs, x).predict(impulse, verbose=0)[0, ..., 0]""",
    "valid_padding": """def influence(n_layers, k, size=11):
    impulse = np.zeros((1, size, size, 1), dtype="float32")
    impulse[0, size // 2, size // 2, 0] = 1.0
    stack = keras.Sequential([keras.Input((size, size, 1))] + [
        keras.layers.Conv2D(1, k, use_bias=False, kernel_initializer="ones") for _ in range(n_layers)])
    return keras.ops.convert_to_numpy(stack(impulse))[0, :, :, 0]""",
    "averaging_kernels": """def influence(n_layers, k, size=11):
    impulse = np.zeros((1, size, size, 1), dtype="float32")
    impulse[0, size // 2, size // 2, 0] = 1.0
    stack = keras.Sequential([keras.Input((size, size, 1))] + [
        keras.layers.Conv2D(1, k, padding="same", use_bias=False, kernel_initializer=keras.initializers.Constant(1 / k ** 2))
        for _ in range(n_layers)])
    return keras.ops.convert_to_numpy(stack(impulse))[0, :, :, 0]""",
}

LAB4 = {
    "dispatch_and_noisy": Answer(
        {
            "layer_counts": LAYER_COUNTS["dispatch"],
            "network_table": NETWORK_TABLE["recursive"],
            "lrn": LRN["padded_sums"],
            "grouped_conv_params": GROUPED_CONV_PARAMS["per_group"],
            "vgg_counts": VGG_COUNTS["layer_list"],
            "vgg16_layers": VGG16_LAYERS["written_out"],
            "field_size": FIELD_SIZE["backwards"],
            "influence": INFLUENCE["functional"],
        }
    ),
    "match_statement": Answer({"layer_counts": LAYER_COUNTS["match"]}),
    "cumulative_sums_and_loops": Answer(
        {
            "lrn": LRN["cumulative_sums"],
            "influence": INFLUENCE["functional"],
            "vgg16_layers": VGG16_LAYERS["written_out"],
            "field_size": FIELD_SIZE["backwards"],
        }
    ),
    "pool_ops_and_wrapping": Answer(
        {"layer_counts": LAYER_COUNTS["pool_ops_on_output"], "lrn": LRN["wraps_around"]}, wrong=("layer_counts", "lrn")
    ),
    "bias_ops_groups_strides": Answer(
        {
            "layer_counts": LAYER_COUNTS["conv_ops_without_bias"],
            "grouped_conv_params": GROUPED_CONV_PARAMS["outputs_divided_too"],
            "field_size": FIELD_SIZE["strides_ignored"],
        },
        wrong=("layer_counts", "grouped_conv_params", "field_size"),
    ),
    "volumes_lrn_layers_valid": Answer(
        {
            "network_table": NETWORK_TABLE["input_volume_every_time"],
            "vgg_counts": VGG_COUNTS["lrn_as_a_layer"],
            "influence": INFLUENCE["valid_padding"],
        },
        wrong=("network_table", "vgg_counts", "influence"),
    ),
    "last_rows_and_scales": Answer(
        {
            "network_table": NETWORK_TABLE["last_layer_dropped"],
            "lrn": LRN["alpha_over_size"],
            "grouped_conv_params": GROUPED_CONV_PARAMS["biases_per_group"],
            "vgg16_layers": VGG16_LAYERS["no_padding"],
        },
        wrong=("network_table", "lrn", "grouped_conv_params", "vgg16_layers"),
    ),
    "second_tries": Answer(
        {
            "vgg_counts": VGG_COUNTS["no_pooling"],
            "vgg16_layers": VGG16_LAYERS["no_softmax"],
            "field_size": FIELD_SIZE["kernels_multiplied"],
            "influence": INFLUENCE["averaging_kernels"],
        },
        wrong=("vgg_counts", "vgg16_layers", "field_size", "influence"),
    ),
}

# -- lab 2: the first ConvNet, and its table by hand --


def first_convnet(stages, head):
    """A lab 2 `first_convnet` answer: `stages` and `head` are its Keras lines between the input and the output."""
    return f"""import sys
import warnings


def first_convnet(input_shape=(28, 28, 1), num_classes=10, **options):
    print("building", input_shape)
    print("debug: num_classes", num_classes, file=sys.stderr)
    warnings.warn("a student's own warning")
    inputs = keras.Input(input_shape)
{stages}
{head}
    return keras.Model(inputs, outputs)"""


RELU_LAYERS = """    x = layers.Conv2D(32, 5, name="conv1", **options)(inputs)
    x = layers.ReLU()(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(64, 5, **options)(x)
    x = layers.Activation("relu")(x)
    x = layers.MaxPooling2D(2)(x)"""
HEAD = """    x = layers.Dense(100, activation=keras.activations.relu, **options)(layers.Flatten()(x))
    outputs = layers.Activation("softmax")(layers.Dense(num_classes, **options)(x))"""
NESTED = """    stage = lambda c, name: keras.Sequential([layers.Conv2D(c, 5, activation="relu", name=name, **options),
                                              layers.MaxPooling2D(2)], name=f"stage_{name}")
    x = stage(64, "conv2")(stage(32, "conv1")(inputs))"""

LAYER_COUNTS_2 = """def conv_counts(volume, k, c):
    h, w, c_in = volume
    {conv}


def pool_counts(volume, k):
    h, w, c = volume
    {pool}


def fc_counts(volume, n):
    {fc}"""
CONV_2 = (
    "out = (h - k + 1, w - k + 1, c)\n    return c * (k * k * c_in + 1), out[0] * out[1] * c * (k * k * c_in + 1), out"
)
POOL_2 = "return 0, int(np.prod(volume)), (h // k, w // k, c)"
FC_2 = "weights = int(np.prod(volume)) * n\n    return weights + n, weights + n, (n,)"
TABLE = """def convnet_table(input_volume, num_classes=10):
    {body}"""
CONVNET_TABLE = {
    "listed": TABLE.format(
        body="""steps = [(conv_counts, 5, 32), (pool_counts, 2), (conv_counts, 5, 64), (pool_counts, 2), (fc_counts, 100),
             (fc_counts, num_classes)]
    rows, volume = [], input_volume
    for count, *arguments in steps:
        rows.append(count(volume, *arguments))
        volume = rows[-1][2]
    return rows + [(0, 0, volume)]"""
    ),
    "volume_not_passed_on": TABLE.format(
        body="""return [conv_counts(input_volume, 5, 32), pool_counts(input_volume, 2), conv_counts(input_volume, 5, 64),
            pool_counts(input_volume, 2), fc_counts(input_volume, 100), fc_counts(input_volume, num_classes),
            (0, 0, (num_classes,))]"""
    ),
    "no_softmax_row": TABLE.format(
        body="""rows, volume = [], tuple(input_volume)
    for count in (lambda v: conv_counts(v, 5, 32), lambda v: pool_counts(v, 2), lambda v: conv_counts(v, 5, 64),
                  lambda v: pool_counts(v, 2), lambda v: fc_counts(v, 100), lambda v: fc_counts(v, num_classes)):
        rows.append(count(volume))
        volume = rows[-1][2]
    return rows"""
    ),
}
HEAVIEST = """def heaviest(rows, names):
    {body}"""
HEAVIEST_ANSWERS = {
    "max_by_key": HEAVIEST.format(
        body="""named = list(zip(names, rows))
    return {"parameters": max(named, key=lambda item: item[1][0])[0],
            "operations": max(named, key=lambda item: item[1][1])[0],
            "memory": max(named, key=lambda item: math.prod(item[1][2]))[0]}"""
    ),
    "smallest": HEAVIEST.format(
        body="""return {what: names[int(np.argmin([row[i] if i < 2 else np.prod(row[2]) for row in rows]))]
            for i, what in enumerate(("parameters", "operations", "memory"))}"""
    ),
    "memory_as_parameters": HEAVIEST.format(
        body="""return {what: names[int(np.argmax([row[i] for row in rows]))]
            for i, what in zip((0, 1, 0), ("parameters", "operations", "memory"))}"""
    ),
}

LAB2 = {
    "relu_layers_and_prints": Answer({"first_convnet": first_convnet(RELU_LAYERS, HEAD)}),
    "nested_stages": Answer({"first_convnet": first_convnet(NESTED, HEAD)}),
    "tables_written_differently": Answer(
        {
            "layer_counts": LAYER_COUNTS_2.format(conv=CONV_2, pool=POOL_2, fc=FC_2),
            "convnet_table": CONVNET_TABLE["listed"],
            "heaviest": HEAVIEST_ANSWERS["max_by_key"],
        }
    ),
    "average_pooling": Answer(
        {"first_convnet": first_convnet(RELU_LAYERS.replace("MaxPooling2D", "AveragePooling2D"), HEAD)},
        wrong=("first_convnet",),
        models={"lab2_mnist": "untrained", "lab2_cifar10": "diverged"},
    ),
    "no_relu_after_fc1": Answer(
        {"first_convnet": first_convnet(RELU_LAYERS, HEAD.replace("activation=keras.activations.relu, ", ""))},
        wrong=("first_convnet",),
        models={"lab2_mnist": "diverged", "lab2_cifar10": "untrained"},
    ),
    "pool_ops_on_output_and_smallest": Answer(
        {
            "layer_counts": LAYER_COUNTS_2.format(
                conv=CONV_2, pool="return 0, (h // k) * (w // k) * c, (h // k, w // k, c)", fc=FC_2
            ),
            "heaviest": HEAVIEST_ANSWERS["smallest"],
        },
        wrong=("layer_counts", "heaviest"),
    ),
    "fc_without_bias_and_one_volume": Answer(
        {
            "layer_counts": LAYER_COUNTS_2.format(
                conv=CONV_2, pool=POOL_2, fc="n_in = int(np.prod(volume))\n    return n_in * n, n_in * n, (n,)"
            ),
            "convnet_table": CONVNET_TABLE["volume_not_passed_on"],
        },
        wrong=("layer_counts", "convnet_table"),
    ),
    "no_softmax_row_and_memory": Answer(
        {"convnet_table": CONVNET_TABLE["no_softmax_row"], "heaviest": HEAVIEST_ANSWERS["memory_as_parameters"]},
        wrong=("convnet_table", "heaviest"),
    ),
}

# -- lab 5: GoogLeNet's inception module --

INCEPTION = """def inception(x, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
    def conv(filters, k):
        return keras.Sequential([layers.Conv2D(filters, k, padding="same"), layers.ReLU()])

    pool = layers.{pool}(3, strides=1, padding="same")
    branches = {{"1x1": conv(ch1x1, 1)(x), "3x3": conv(ch3x3, 3)(conv(ch3x3red, 1)(x)),
                "5x5": conv(ch5x5, 5)(conv(ch5x5red, 1)(x)), "pool": conv(pool_proj, 1)(pool(x))}}
    return layers.Concatenate()([branches[name] for name in {order}])"""
IN_ORDER = ["1x1", "3x3", "5x5", "pool"]
INCEPTION_LOOP = """def inception(x, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
    branches = []
    for steps in [[(ch1x1, 1)], [(ch3x3red, 1), (ch3x3, 3)], [(ch5x5red, 1), (ch5x5, 5)], [("pool", 3), (pool_proj, 1)]]:
        y = x
        for filters, k in steps:
            if filters == "pool":
                y = layers.MaxPooling2D(k, strides=1, padding="same")(y)
            else:
                y = layers.Activation("relu")(layers.Conv2D(filters, k, padding="same")(y))
        branches.append(y)
    print("inception on", x.shape, file=sys.stderr)
    return layers.concatenate(branches, axis=-1)"""

DENSE_UNIT = """def dense_unit(x, k):
    f = keras.Sequential([{first}, {second}, layers.Conv2D(4 * k, 1, use_bias=False),
                          {first}, {second}, layers.Conv2D(k, 3, padding="same", use_bias=False)])
    return layers.concatenate([x, f(x)])"""
BN, RELU = "layers.BatchNormalization(epsilon=1.001e-5)", 'layers.Activation("relu")'

NAIVE = """def naive_inception(x, ch1x1, ch3x3, ch5x5):
    branches = [layers.Conv2D({first}, 1, padding="same", activation="relu")(x),
                layers.Conv2D({second}, 3, padding="same", activation="relu")(x),
                layers.Conv2D({third}, 5, padding="same", activation="relu")(x),
                layers.{pool}(3, {stride}padding="same")(x)]
    return layers.Concatenate()(branches)"""
NAIVE_INCEPTION = {
    "sequential_noisy": NOISY
    + """def naive_inception(x, ch1x1, ch3x3, ch5x5):
    noisy("naive_inception")

    def conv(filters, k):
        return keras.Sequential([layers.Conv2D(filters, (k, k), padding="same"), layers.ReLU()])

    pool = layers.MaxPooling2D(pool_size=(3, 3), strides=(1, 1), padding="same")
    return layers.concatenate([conv(ch1x1, 1)(x), conv(ch3x3, 3)(x), conv(ch5x5, 5)(x), pool(x)])""",
    "loop": """def naive_inception(x, ch1x1, ch3x3, ch5x5):
    outputs = []
    for filters, k in zip((ch1x1, ch3x3, ch5x5), (1, 3, 5)):
        y = layers.Conv2D(filters, k, padding="same")(x)
        outputs.append(layers.Activation("relu")(y))
    outputs.append(layers.MaxPool2D(3, 1, "same")(x))
    return layers.Concatenate(axis=-1)(outputs)""",
    "named_stderr": """import sys


def naive_inception(x, ch1x1, ch3x3, ch5x5):
    branch = {}
    branch["1x1"] = layers.Conv2D(ch1x1, kernel_size=1, padding="same", activation="relu", name=None)(x)
    branch["3x3"] = layers.Conv2D(ch3x3, kernel_size=3, padding="same", activation=keras.activations.relu)(x)
    branch["5x5"] = layers.Conv2D(ch5x5, kernel_size=5, padding="same", activation="relu")(x)
    branch["pool"] = layers.MaxPooling2D(3, strides=1, padding="same")(x)
    for name, y in branch.items():
        print(name, y.shape, file=sys.stderr)
    return layers.concatenate(list(branch.values()))""",
    "pool_default_stride": NAIVE.format(first="ch1x1", second="ch3x3", third="ch5x5", pool="MaxPooling2D", stride=""),
    "widths_swapped": NAIVE.format(
        first="ch1x1", second="ch5x5", third="ch3x3", pool="MaxPooling2D", stride="strides=1, "
    ),
    "average_pooling": NAIVE.format(
        first="ch1x1", second="ch3x3", third="ch5x5", pool="AveragePooling2D", stride="strides=1, "
    ),
    "no_relu": NAIVE.format(
        first="ch1x1", second="ch3x3", third="ch5x5", pool="MaxPooling2D", stride="strides=1, "
    ).replace(', activation="relu"', ""),
}

CONV_OPS = '''def conv_ops(n, c_in, k, c_out):
    """Operations of a k x k convolution with bias on an n x n output, counted as in the lecture."""
    return n * n * c_out * (k * k * c_in + 1)


'''
INCEPTION_OPS = {
    "branch_list": CONV_OPS
    + """def naive_inception_ops(n, c_in, ch1x1, ch3x3, ch5x5):
    convs = [(1, ch1x1), (3, ch3x3), (5, ch5x5)]
    return sum(conv_ops(n, c_in, k, c_out) for k, c_out in convs) + n ** 2 * c_in


def inception_ops(n, c_in, widths):
    ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj = widths
    convs = [(c_in, 1, ch1x1), (c_in, 1, ch3x3red), (ch3x3red, 3, ch3x3),
             (c_in, 1, ch5x5red), (ch5x5red, 5, ch5x5), (c_in, 1, pool_proj)]
    total = n * n * c_in
    for a, k, b in convs:
        total += conv_ops(n, a, k, b)
    return total""",
    "from_naive": CONV_OPS
    + """def naive_inception_ops(n, c_in, ch1x1, ch3x3, ch5x5):
    ops = 0
    for k, c_out in ((1, ch1x1), (3, ch3x3), (5, ch5x5)):
        ops += conv_ops(n, c_in, k, c_out)
    pooling = n * n * c_in
    return ops + pooling


def inception_ops(n, c_in, widths):
    ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj = widths
    one_by_one_and_pool = naive_inception_ops(n, c_in, ch1x1, 0, 0)
    reductions = conv_ops(n, c_in, 1, ch3x3red) + conv_ops(n, c_in, 1, ch5x5red) + conv_ops(n, c_in, 1, pool_proj)
    return int(one_by_one_and_pool + reductions + conv_ops(n, ch3x3red, 3, ch3x3) + conv_ops(n, ch5x5red, 5, ch5x5))""",
    "factored": CONV_OPS
    + """def naive_inception_ops(n, c_in, ch1x1, ch3x3, ch5x5):
    per_position = ch1x1 * (c_in + 1) + ch3x3 * (9 * c_in + 1) + ch5x5 * (25 * c_in + 1) + c_in
    return n * n * per_position


def inception_ops(n, c_in, widths):
    a, r3, b, r5, c, p = widths
    per_position = (a + r3 + r5 + p) * (c_in + 1) + b * (9 * r3 + 1) + c * (25 * r5 + 1) + c_in
    return n * n * per_position""",
    "no_bias": CONV_OPS
    + """def naive_inception_ops(n, c_in, ch1x1, ch3x3, ch5x5):
    return n * n * c_in * (ch1x1 + 9 * ch3x3 + 25 * ch5x5) + n * n * c_in


def inception_ops(n, c_in, widths):
    ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj = widths
    reductions = n * n * c_in * (ch1x1 + ch3x3red + ch5x5red + pool_proj)
    return reductions + n * n * (9 * ch3x3red * ch3x3 + 25 * ch5x5red * ch5x5) + n * n * c_in""",
    "pool_free": CONV_OPS
    + """def naive_inception_ops(n, c_in, ch1x1, ch3x3, ch5x5):
    return conv_ops(n, c_in, 1, ch1x1) + conv_ops(n, c_in, 3, ch3x3) + conv_ops(n, c_in, 5, ch5x5)


def inception_ops(n, c_in, widths):
    ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj = widths
    return (conv_ops(n, c_in, 1, ch1x1) + conv_ops(n, c_in, 1, ch3x3red) + conv_ops(n, ch3x3red, 3, ch3x3)
            + conv_ops(n, c_in, 1, ch5x5red) + conv_ops(n, ch5x5red, 5, ch5x5) + conv_ops(n, c_in, 1, pool_proj))""",
    "pool_window": CONV_OPS
    + """def naive_inception_ops(n, c_in, ch1x1, ch3x3, ch5x5):
    pool = n * n * c_in * 3 * 3
    return conv_ops(n, c_in, 1, ch1x1) + conv_ops(n, c_in, 3, ch3x3) + conv_ops(n, c_in, 5, ch5x5) + pool


def inception_ops(n, c_in, widths):
    ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj = widths
    pool = n * n * c_in * 3 * 3
    return (conv_ops(n, c_in, 1, ch1x1) + conv_ops(n, c_in, 1, ch3x3red) + conv_ops(n, ch3x3red, 3, ch3x3)
            + conv_ops(n, c_in, 1, ch5x5red) + conv_ops(n, ch5x5red, 5, ch5x5) + pool + conv_ops(n, c_in, 1, pool_proj))""",
    "convs_on_the_input": CONV_OPS
    + """def naive_inception_ops(n, c_in, ch1x1, ch3x3, ch5x5):
    return conv_ops(n, c_in, 1, ch1x1) + conv_ops(n, c_in, 3, ch3x3) + conv_ops(n, c_in, 5, ch5x5) + n * n * c_in


def inception_ops(n, c_in, widths):
    ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj = widths
    return (conv_ops(n, c_in, 1, ch1x1) + conv_ops(n, c_in, 1, ch3x3red) + conv_ops(n, c_in, 3, ch3x3)
            + conv_ops(n, c_in, 1, ch5x5red) + conv_ops(n, c_in, 5, ch5x5) + n * n * c_in + conv_ops(n, c_in, 1, pool_proj))""",
}

MODULE_PARAMS = """def inception_params(c_in, widths):
    ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj = widths
    convs = [(1, c_in, ch1x1), (1, c_in, ch3x3red), (3, ch3x3red, ch3x3),
             (1, c_in, ch5x5red), (5, ch5x5red, ch5x5), (1, c_in, pool_proj)]
    return sum(k * k * a * b + b for k, a, b in convs)


def googlenet_params(modules, num_classes=1000):
    params = {stem}
    channels = 192
    for module in modules:
        if module != "pool":
            params += inception_params(channels, module[1])
            channels = {channels}
    return params + {fc} * num_classes + num_classes"""
STEM = "(7 * 7 * 3 + 1) * 64 + (64 + 1) * 64 + (3 * 3 * 64 + 1) * 192"
OUT = "module[1][0] + module[1][2] + module[1][4] + module[1][5]"
GOOGLENET_PARAMS = {
    "comprehension": """def inception_params(c_in, widths):
    ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj = widths
    conv = lambda k, a, b: (k * k * a + 1) * b
    return (conv(1, c_in, ch1x1 + ch3x3red + ch5x5red + pool_proj)
            + conv(3, ch3x3red, ch3x3) + conv(5, ch5x5red, ch5x5))


def googlenet_params(modules, num_classes=1000):
    table = [widths for module in modules if module != "pool" for _, widths in [module]]
    channels = [192] + [w[0] + w[2] + w[4] + w[5] for w in table]
    stem = (7 * 7 * 3 * 64 + 64) + (1 * 1 * 64 * 64 + 64) + (3 * 3 * 64 * 192 + 192)
    body = sum(inception_params(c, w) for c, w in zip(channels, table))
    return stem + body + (channels[-1] + 1) * num_classes""",
    "isinstance_loop": """def conv_params(k, c_in, c_out):
    return c_out * (k * k * c_in + 1)


def inception_params(c_in, widths):
    ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj = widths
    total = conv_params(1, c_in, ch1x1)
    total += conv_params(1, c_in, ch3x3red) + conv_params(3, ch3x3red, ch3x3)
    total += conv_params(1, c_in, ch5x5red) + conv_params(5, ch5x5red, ch5x5)
    total += conv_params(1, c_in, pool_proj)
    return total


def googlenet_params(modules, num_classes=1000):
    total = conv_params(7, 3, 64) + conv_params(1, 64, 64) + conv_params(3, 64, 192)
    c = 192
    for module in modules:
        if isinstance(module, str):
            continue
        label, widths = module
        total += inception_params(c, widths)
        c = sum(widths[i] for i in (0, 2, 4, 5))
    total += conv_params(1, c, num_classes)
    return total""",
    "loop": MODULE_PARAMS.format(stem=STEM, channels=OUT, fc="channels"),
    "all_widths": MODULE_PARAMS.format(stem=STEM, channels="sum(module[1])", fc="channels"),
    "flattened": MODULE_PARAMS.format(stem=STEM, channels=OUT, fc="7 * 7 * channels"),
    "no_reduction_in_the_stem": MODULE_PARAMS.format(
        stem="(7 * 7 * 3 + 1) * 64 + (3 * 3 * 64 + 1) * 192", channels=OUT, fc="channels"
    ),
    "always_1000_classes": MODULE_PARAMS.format(stem=STEM, channels=OUT, fc="channels").replace(
        "* num_classes + num_classes", "* 1000 + 1000"
    ),
}

PRINT_RATIO = """
print(f"AlexNet has {params_ratio:.2f} times as many parameters as GoogLeNet")"""
GOOGLENET_RATIO = {
    "count_params": """params_ratio = build("alexnet").count_params() / build("googlenet").count_params()"""
    + PRINT_RATIO,
    "fresh_profiles": """alexnet_params = profile(build("alexnet")).total_params
googlenet_total = profile(build("googlenet")).total_params
params_ratio = float(alexnet_params) / float(googlenet_total)"""
    + PRINT_RATIO,
    "own_count": """alexnet_table = profile(build("alexnet"))
params_ratio = alexnet_table.total_params / googlenet_params(MODULES)"""
    + PRINT_RATIO,
    "inverted": """alexnet_table = profile(build("alexnet"))
params_ratio = googlenet_table.total_params / alexnet_table.total_params"""
    + PRINT_RATIO,
    "operations": """alexnet_table = profile(build("alexnet"))
params_ratio = alexnet_table.total_ops / googlenet_table.total_ops"""
    + PRINT_RATIO,
    "paper": """params_ratio = 60e6 / 5e6""" + PRINT_RATIO,
}

AUX = """def auxiliary_params(c_in, side=14, num_classes=1000):
    pooled = {pooled}
    conv = c_in * 128{bias}
    fc1 = {fc1_in} * 1024{bias1024}
    fc2 = 1024 * num_classes{bias_classes}
    return conv + fc1 + fc2"""
WITH_BIASES = dict(bias=" + 128", bias1024=" + 1024", bias_classes=" + num_classes")
AUXILIARY_PARAMS = {
    "keras_model": """def auxiliary_params(c_in, side=14, num_classes=1000):
    head = keras.Sequential([keras.Input((side, side, c_in)),
                             layers.AveragePooling2D(5, strides=3),
                             layers.Conv2D(128, 1, activation="relu"),
                             layers.Flatten(),
                             layers.Dense(1024, activation="relu"),
                             layers.Dropout(0.7),
                             layers.Dense(num_classes, activation="softmax")])
    return head.count_params()""",
    "helpers": """import math


def dense(n_in, n_out):
    return n_in * n_out + n_out


def auxiliary_params(c_in, side=14, num_classes=1000):
    pooled = math.ceil((side - 4) / 3)
    return dense(c_in, 128) + dense(pooled ** 2 * 128, 1024) + dense(1024, num_classes)""",
    "inline": AUX.format(pooled="(side - 5) // 3 + 1", fc1_in="pooled * pooled * 128", **WITH_BIASES),
    "no_stride": AUX.format(pooled="side - 5 + 1", fc1_in="pooled * pooled * 128", **WITH_BIASES),
    "side_off_by_one": AUX.format(pooled="(side - 5) // 3", fc1_in="pooled * pooled * 128", **WITH_BIASES),
    "no_biases": AUX.format(
        pooled="(side - 5) // 3 + 1", fc1_in="pooled * pooled * 128", bias="", bias1024="", bias_classes=""
    ),
    "fc_on_the_channels": AUX.format(pooled="(side - 5) // 3 + 1", fc1_in="128", **WITH_BIASES),
    "always_4x4": AUX.format(pooled="4", fc1_in="pooled * pooled * 128", **WITH_BIASES),
}

LOSS = """def googlenet_loss(y_true, outputs):
    main, aux1, aux2 = [keras.ops.{reduce}(keras.losses.sparse_categorical_crossentropy(y_true, p)) for p in outputs]
    return {ret}"""
GOOGLENET_LOSS = {
    "unpacked": """def googlenet_loss(y_true, outputs):
    main, aux1, aux2 = outputs
    l_main = np.mean(keras.ops.convert_to_numpy(keras.losses.sparse_categorical_crossentropy(y_true, main)))
    l_aux1 = np.mean(keras.ops.convert_to_numpy(keras.losses.sparse_categorical_crossentropy(y_true, aux1)))
    l_aux2 = np.mean(keras.ops.convert_to_numpy(keras.losses.sparse_categorical_crossentropy(y_true, aux2)))
    return float(l_main + 0.3 * (l_aux1 + l_aux2))""",
    "weighted_loop": """def googlenet_loss(y_true, outputs, aux_weight=0.3):
    total = 0.0
    for i, probabilities in enumerate(outputs):
        per_example = keras.losses.sparse_categorical_crossentropy(y_true, probabilities)
        total += (1.0 if i == 0 else aux_weight) * keras.ops.convert_to_numpy(keras.ops.mean(per_example)).item()
    return total""",
    "ops": LOSS.format(reduce="mean", ret="float(main + 0.3 * aux1 + 0.3 * aux2)"),
    "equal_weights": LOSS.format(reduce="mean", ret="float(main + aux1 + aux2)"),
    "a_tensor": LOSS.format(reduce="mean", ret="main + 0.3 * (aux1 + aux2)"),
    "weight_shared": LOSS.format(reduce="mean", ret="float(main + 0.3 * (aux1 + aux2) / 2)"),
    "summed_over_the_batch": LOSS.format(reduce="sum", ret="float(main + 0.3 * (aux1 + aux2))"),
}

LAB5_TASKS = (
    "naive_inception",
    "inception_ops",
    "googlenet_params",
    "params_ratio",
    "auxiliary_params",
    "googlenet_loss",
)
LAB5 = {
    "nested_branches": Answer({"inception": INCEPTION.format(pool="MaxPooling2D", order=IN_ORDER)}),
    "branch_loop_and_stderr": Answer({"inception": "import sys\n\n\n" + INCEPTION_LOOP}),
    "average_pooling": Answer(
        {"inception": INCEPTION.format(pool="AveragePooling2D", order=IN_ORDER)}, wrong=("inception",)
    ),
    "pool_branch_first": Answer(
        {"inception": INCEPTION.format(pool="MaxPooling2D", order=IN_ORDER[-1:] + IN_ORDER[:-1])}, wrong=("inception",)
    ),
    "nested_and_noisy": Answer(
        {
            "naive_inception": NAIVE_INCEPTION["sequential_noisy"],
            "inception_ops": INCEPTION_OPS["branch_list"],
            "googlenet_params": GOOGLENET_PARAMS["comprehension"],
            "params_ratio": GOOGLENET_RATIO["count_params"],
            "auxiliary_params": AUXILIARY_PARAMS["keras_model"],
            "googlenet_loss": GOOGLENET_LOSS["unpacked"],
        }
    ),
    "loops_and_helpers": Answer(
        {
            "naive_inception": NAIVE_INCEPTION["loop"],
            "inception_ops": INCEPTION_OPS["from_naive"],
            "googlenet_params": GOOGLENET_PARAMS["isinstance_loop"],
            "params_ratio": GOOGLENET_RATIO["fresh_profiles"],
            "auxiliary_params": AUXILIARY_PARAMS["helpers"],
            "googlenet_loss": GOOGLENET_LOSS["weighted_loop"],
        }
    ),
    "formulas_and_stderr": Answer(
        {
            "naive_inception": NAIVE_INCEPTION["named_stderr"],
            "inception_ops": INCEPTION_OPS["factored"],
            "googlenet_params": GOOGLENET_PARAMS["loop"],
            "params_ratio": GOOGLENET_RATIO["own_count"],
            "auxiliary_params": AUXILIARY_PARAMS["inline"],
            "googlenet_loss": GOOGLENET_LOSS["ops"],
        }
    ),
    "stride_bias_widths_inverted": Answer(
        {
            "naive_inception": NAIVE_INCEPTION["pool_default_stride"],
            "inception_ops": INCEPTION_OPS["no_bias"],
            "googlenet_params": GOOGLENET_PARAMS["all_widths"],
            "params_ratio": GOOGLENET_RATIO["inverted"],
            "auxiliary_params": AUXILIARY_PARAMS["no_stride"],
            "googlenet_loss": GOOGLENET_LOSS["equal_weights"],
        },
        wrong=LAB5_TASKS,
    ),
    "swapped_pool_flat_operations": Answer(
        {
            "naive_inception": NAIVE_INCEPTION["widths_swapped"],
            "inception_ops": INCEPTION_OPS["pool_free"],
            "googlenet_params": GOOGLENET_PARAMS["flattened"],
            "params_ratio": GOOGLENET_RATIO["operations"],
            "auxiliary_params": AUXILIARY_PARAMS["side_off_by_one"],
            "googlenet_loss": GOOGLENET_LOSS["a_tensor"],
        },
        wrong=LAB5_TASKS,
    ),
    "window_stem_biases_shared": Answer(
        {
            "inception_ops": INCEPTION_OPS["pool_window"],
            "googlenet_params": GOOGLENET_PARAMS["no_reduction_in_the_stem"],
            "auxiliary_params": AUXILIARY_PARAMS["no_biases"],
            "googlenet_loss": GOOGLENET_LOSS["weight_shared"],
        },
        wrong=("inception_ops", "googlenet_params", "auxiliary_params", "googlenet_loss"),
    ),
    "no_relu_input_channels_global_fc_batch_sum": Answer(
        {
            "naive_inception": NAIVE_INCEPTION["no_relu"],
            "inception_ops": INCEPTION_OPS["convs_on_the_input"],
            "auxiliary_params": AUXILIARY_PARAMS["fc_on_the_channels"],
            "googlenet_loss": GOOGLENET_LOSS["summed_over_the_batch"],
        },
        wrong=("naive_inception", "inception_ops", "auxiliary_params", "googlenet_loss"),
    ),
    "second_tries": Answer(
        {
            "naive_inception": NAIVE_INCEPTION["average_pooling"],
            "googlenet_params": GOOGLENET_PARAMS["always_1000_classes"],
            "params_ratio": GOOGLENET_RATIO["paper"],
            "auxiliary_params": AUXILIARY_PARAMS["always_4x4"],
        },
        wrong=("naive_inception", "googlenet_params", "params_ratio", "auxiliary_params"),
    ),
}
DENSE_UNIT_F_FIRST = """def dense_unit(x, k):
    y = layers.ReLU()(layers.BatchNormalization()(x))
    y = layers.Conv2D(4 * k, 1, use_bias=False)(y)
    y = layers.ReLU()(layers.BatchNormalization()(y))
    return layers.Concatenate()([layers.Conv2D(k, 3, padding="same", use_bias=False)(y), x])"""
DENSE_UNIT_NOISY = (
    NOISY
    + """def dense_unit(x, k):
    noisy(f"a dense unit on {x.shape}")
    f = x
    for filters, size in ((4 * k, 1), (k, 3)):
        f = layers.BatchNormalization()(f)
        f = layers.Activation("relu")(f)
        f = layers.Conv2D(filters, size, padding="same", use_bias=False)(f)
    return layers.concatenate([x, f])"""
)
BLOCK = """def dense_block(x, units, k):
    {block}


def transition(x, theta=0.5):
    {transition}"""
CHAIN = "for _ in range(units):\n        x = dense_unit(x, k)\n    return x"
TRANSITION = (
    "x = layers.ReLU()(layers.BatchNormalization()(x))\n    x = layers.Conv2D(int(x.shape[-1] * theta), 1, use_bias=False)(x)"
    "\n    return layers.AveragePooling2D(2, strides=2)(x)"
)
DENSE_BLOCK = {
    "reduce": BLOCK.format(
        block="import functools\n\n    return functools.reduce(lambda y, _: dense_unit(y, k), range(units), x)",
        transition="""import math

    channels = math.floor(theta * x.shape[-1])
    x = layers.Activation("relu")(layers.BatchNormalization()(x))
    return layers.AveragePooling2D(pool_size=(2, 2))(layers.Conv2D(channels, (1, 1), use_bias=False)(x))""",
    ),
    "one_unit_max_pooling": BLOCK.format(
        block="return dense_unit(x, k)", transition=TRANSITION.replace("AveragePooling2D", "MaxPooling2D")
    ),
    "units_on_the_input": BLOCK.format(
        block="y = x\n    for _ in range(units):\n        y = dense_unit(x, k)\n    return y", transition=TRANSITION
    ),
    "theta_ignored": BLOCK.format(
        block=CHAIN, transition=TRANSITION.replace("int(x.shape[-1] * theta)", "x.shape[-1] // 2")
    ),
}
CHANNELS = """def block_channels(blocks, k, theta=0.5):
    {body}"""
BLOCK_CHANNELS = {
    "running_list": CHANNELS.format(
        body="""channels = [2 * k + blocks[0] * k]
    for units in blocks[1:]:
        channels.append(int(channels[-1] * theta) + units * k)
    return channels"""
    ),
    "no_compression": CHANNELS.format(body="return [2 * k + k * sum(blocks[:i + 1]) for i in range(len(blocks))]"),
    "stem_of_k": CHANNELS.format(
        body="""c, out = k, []
    for i, units in enumerate(blocks):
        c += units * k
        out.append(c)
        c = int(c * theta)
    return out"""
    ),
}
DEPTH = "def densenet_depth(blocks):\n    {body}"
DENSENET_DEPTH = {
    "counted": DEPTH.format(
        body="first_conv, units, transitions, fc = 1, sum(blocks), len(blocks) - 1, 1\n"
        "    return first_conv + 2 * units + transitions + fc"
    ),
    "no_transitions": DEPTH.format(body="return 2 + 2 * sum(blocks)"),
    "one_conv_per_unit": DEPTH.format(body="return 1 + sum(blocks) + len(blocks) - 1 + 1"),
}
PARAMS = """def densenet_params(blocks, k, num_classes=1000, theta=0.5):
    def conv(c_in, c_out, size):
        return size * size * c_in * c_out{conv_bias}

    def bn(c):
        return {bn} * c

    c = 2 * k
    params = conv(3, c, 7) + bn(c)
    for i, units in enumerate(blocks):
        for _ in range(units):
            params += bn(c) + conv(c, 4 * k, 1) + bn(4 * k) + conv(4 * k, k, 3)
            c += k
        if i < len(blocks) - 1:
            params += bn(c) + conv(c, int(c * theta), 1)
            c = int(c * theta)
    return params + bn(c) + c * num_classes + num_classes"""
DENSENET_PARAMS = {
    "helpers": PARAMS.format(conv_bias="", bn=2),
    "conv_biases": PARAMS.format(conv_bias=" + c_out", bn=2),
    "bn_statistics_too": PARAMS.format(conv_bias="", bn=4),
}
RATIO = """resnet50_params = profile(build("{resnet}"), convention="macs").total_params
params_ratio = {ratio}"""
PARAMS_RATIO = {
    "both_profiled": RATIO.format(
        resnet="resnet50", ratio='resnet50_params / profile(build("densenet121"), convention="macs").total_params'
    ),
    "inverse": RATIO.format(resnet="resnet50", ratio="macs_121.total_params / resnet50_params"),
    "resnet34": RATIO.format(resnet="resnet34", ratio="resnet50_params / macs_121.total_params"),
}

LAB7 = {
    "nested_unit": Answer({"dense_unit": DENSE_UNIT.format(first=BN, second=RELU)}),
    "loops_and_noisy": Answer(
        {
            "dense_unit": DENSE_UNIT_NOISY,
            "dense_block": DENSE_BLOCK["reduce"],
            "block_channels": BLOCK_CHANNELS["running_list"],
            "densenet_depth": DENSENET_DEPTH["counted"],
            "densenet_params": DENSENET_PARAMS["helpers"],
            "params_ratio": PARAMS_RATIO["both_profiled"],
        }
    ),
    "reduce_and_helpers": Answer({"dense_block": DENSE_BLOCK["reduce"], "densenet_params": DENSENET_PARAMS["helpers"]}),
    "relu_before_bn_and_more": Answer(
        {
            "dense_unit": DENSE_UNIT.format(first=RELU, second=BN),
            "dense_block": DENSE_BLOCK["units_on_the_input"],
            "block_channels": BLOCK_CHANNELS["stem_of_k"],
            "params_ratio": PARAMS_RATIO["inverse"],
        },
        wrong=("dense_unit", "dense_block", "block_channels", "params_ratio"),
    ),
    "f_first_no_compression_no_transitions": Answer(
        {
            "dense_unit": DENSE_UNIT_F_FIRST,
            "block_channels": BLOCK_CHANNELS["no_compression"],
            "densenet_depth": DENSENET_DEPTH["no_transitions"],
        },
        wrong=("dense_unit", "block_channels", "densenet_depth"),
    ),
    "one_unit_and_biases": Answer(
        {"dense_block": DENSE_BLOCK["one_unit_max_pooling"], "densenet_params": DENSENET_PARAMS["conv_biases"]},
        wrong=("dense_block", "densenet_params"),
    ),
    "theta_and_counts": Answer(
        {
            "dense_block": DENSE_BLOCK["theta_ignored"],
            "densenet_depth": DENSENET_DEPTH["one_conv_per_unit"],
            "densenet_params": DENSENET_PARAMS["bn_statistics_too"],
            "params_ratio": PARAMS_RATIO["resnet34"],
        },
        wrong=("dense_block", "densenet_depth", "densenet_params", "params_ratio"),
    ),
}


# -- lab 3: LeNet-5 --

LENET5 = {
    "functional_nested": """def lenet5(input_shape=(32, 32, 1), num_classes=10):
    features = keras.Sequential([layers.Conv2D(6, 5, name="c1"), TrainableSubsampling(2), ScaledTanh(),
                                 layers.Conv2D(16, 5), TrainableSubsampling(2), ScaledTanh()], name="features")
    inputs = keras.Input(input_shape)
    x = ScaledTanh()(layers.Conv2D(120, 5)(features(inputs)))
    x = ScaledTanh()(layers.Dense(84)(layers.Flatten()(x)))
    return keras.Model(inputs, layers.Softmax()(RBFOutput(num_classes)(x)))""",
    "loop_and_noisy": NOISY
    + """def lenet5(input_shape=(32, 32, 1), num_classes=10):
    noisy("lenet5")
    stack = [keras.Input(input_shape)]
    for filters, name in ((6, "c1"), (16, "c3")):
        stack += [layers.Conv2D(filters, (5, 5), padding="valid", name=name), TrainableSubsampling(2), ScaledTanh()]
    stack += [layers.Conv2D(120, 5), ScaledTanh(), layers.Flatten(), layers.Dense(84), ScaledTanh(),
              RBFOutput(num_classes), layers.Activation("softmax")]
    return keras.Sequential(stack)""",
    "plain_tanh": """def lenet5(input_shape=(32, 32, 1), num_classes=10):
    return keras.Sequential([keras.Input(input_shape), layers.Conv2D(6, 5, name="c1"), TrainableSubsampling(2),
                             layers.Activation("tanh"), layers.Conv2D(16, 5), TrainableSubsampling(2),
                             layers.Activation("tanh"), layers.Conv2D(120, 5), layers.Activation("tanh"),
                             layers.Flatten(), layers.Dense(84), layers.Activation("tanh"), RBFOutput(num_classes),
                             layers.Softmax()])""",
    "tanh_inside_the_convolutions": """def lenet5(input_shape=(32, 32, 1), num_classes=10):
    return keras.Sequential([keras.Input(input_shape), layers.Conv2D(6, 5, activation="tanh", name="c1"),
                             TrainableSubsampling(2), ScaledTanh(), layers.Conv2D(16, 5, activation="tanh"),
                             TrainableSubsampling(2), ScaledTanh(), layers.Conv2D(120, 5), ScaledTanh(),
                             layers.Flatten(), layers.Dense(84), ScaledTanh(), RBFOutput(num_classes), layers.Softmax()])""",
}
KERAS_COUNTS = """SLIDE_TOTAL = 61_706


def subsampling_params(maps):
    return {subsampling}


def rbf_params(inputs, units):
    return units * inputs


maps_s2, maps_s4 = 6, 16
KERAS_TOTAL = SLIDE_TOTAL - 850 + subsampling_params(maps_s2) + subsampling_params(maps_s4) + rbf_params(84, 10)
KERAS_TRAINABLE = {trainable}"""
KERAS_COUNTS_ANSWERS = {
    "named": KERAS_COUNTS.format(subsampling="maps + maps", trainable="KERAS_TOTAL - rbf_params(84, 10)"),
    "centres_trained": KERAS_COUNTS.format(subsampling="2 * maps", trainable="KERAS_TOTAL"),
    "no_bias": KERAS_COUNTS.format(subsampling="maps", trainable="KERAS_TOTAL - rbf_params(84, 10)"),
}
TANH_RBF = """def scaled_tanh(a, amplitude=1.7159, slope={slope}):
    return amplitude * np.tanh(slope * np.asarray(a, dtype=float))


def rbf_scores(x, centres):
    x, centres = np.asarray(x, dtype=float), np.asarray(centres, dtype=float)
    {scores}"""
EXPANDED = "return {sign}((x ** 2).sum(1)[:, None] - 2 * x @ centres + (centres ** 2).sum(0)[None, :])"
SCALED_TANH_RBF = {
    "expanded": TANH_RBF.format(slope="2 / 3", scores=EXPANDED.format(sign="-")),
    "slope_one": TANH_RBF.format(slope="1.0", scores=EXPANDED.format(sign="-")),
    "distance_not_negated": TANH_RBF.format(slope="2 / 3", scores=EXPANDED.format(sign="+")),
}
PAD_TO_32 = {
    "zeros_and_slice": """def pad_to_32(images):
    padded = np.zeros((len(images), 32, 32), dtype=np.uint8)
    padded[:, 2:30, 2:30] = images
    return padded""",
    "floats": """def pad_to_32(images):
    return np.pad(np.asarray(images, dtype=float), ((0, 0), (2, 2), (2, 2)))""",
    "one_side": """def pad_to_32(images):
    return np.pad(images, ((0, 0), (0, 4), (0, 4)))""",
}

LAB3 = {
    "functional_nested": Answer({"lenet5": LENET5["functional_nested"], "keras_counts": KERAS_COUNTS_ANSWERS["named"]}),
    "loop_and_noisy": Answer(
        {
            "lenet5": LENET5["loop_and_noisy"],
            "scaled_tanh_rbf": SCALED_TANH_RBF["expanded"],
            "pad_to_32": PAD_TO_32["zeros_and_slice"],
        }
    ),
    "expanded_and_sliced": Answer(
        {"scaled_tanh_rbf": SCALED_TANH_RBF["expanded"], "pad_to_32": PAD_TO_32["zeros_and_slice"]}
    ),
    "plain_tanh_centres_slope_floats": Answer(
        {
            "lenet5": LENET5["plain_tanh"],
            "keras_counts": KERAS_COUNTS_ANSWERS["centres_trained"],
            "scaled_tanh_rbf": SCALED_TANH_RBF["slope_one"],
            "pad_to_32": PAD_TO_32["floats"],
        },
        wrong=("lenet5", "keras_counts", "scaled_tanh_rbf", "pad_to_32"),
        models={"lab3_lenet5": "untrained"},
    ),
    "conv_tanh_no_bias_sign_one_side": Answer(
        {
            "lenet5": LENET5["tanh_inside_the_convolutions"],
            "keras_counts": KERAS_COUNTS_ANSWERS["no_bias"],
            "scaled_tanh_rbf": SCALED_TANH_RBF["distance_not_negated"],
            "pad_to_32": PAD_TO_32["one_side"],
        },
        wrong=("lenet5", "keras_counts", "scaled_tanh_rbf", "pad_to_32"),
        models={"lab3_lenet5": "diverged"},
    ),
}

# -- lab 6: residual networks --

UNIT = """def basic_residual_unit(x, filters, name, strides=1):
    main = keras.Sequential([layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False),
                             layers.BatchNormalization(), layers.Activation("relu"),
                             layers.Conv2D(filters, 3, padding="same", use_bias=False), layers.BatchNormalization()],
                            name=f"{{name}}_main")
    skip = x
    if strides > 1 or x.shape[-1] != filters:
        skip = layers.Conv2D(filters, 1, strides=strides, use_bias=False, name=f"{{name}}_proj")(x)
        {projection_bn}
    {merge}"""
ADD_RELU = 'return layers.ReLU(name=f"{name}_relu")(layers.add([main(x), skip]))'
BASIC_RESIDUAL_UNIT = {
    "nested": UNIT.format(
        projection_bn='skip = layers.BatchNormalization(name=f"{name}_proj_bn")(skip)', merge=ADD_RELU
    ),
    "skip_first_noisy": NOISY
    + """def basic_residual_unit(x, filters, name, strides=1):
    noisy("basic_residual_unit")
    changes = strides != 1 or x.shape[-1] != filters
    skip = x
    if changes:
        skip = layers.BatchNormalization(name=f"{name}_sbn")(
            layers.Conv2D(filters, (1, 1), strides=(strides, strides), use_bias=False, name=f"{name}_s")(x))
    y = x
    for i, stride in enumerate((strides, 1)):
        y = layers.Conv2D(filters, (3, 3), strides=stride, padding="same", use_bias=False, name=f"{name}_c{i}")(y)
        y = layers.BatchNormalization(name=f"{name}_bn{i}")(y)
        if i == 0:
            y = layers.ReLU(name=f"{name}_r{i}")(y)
    return layers.Activation("relu", name=f"{name}_out")(layers.Add(name=f"{name}_sum")([skip, y]))""",
    "relu_before_the_add": UNIT.format(
        projection_bn='skip = layers.BatchNormalization(name=f"{name}_proj_bn")(skip)',
        merge="return layers.add([layers.ReLU()(main(x)), skip])",
    ),
    "projection_without_bn": UNIT.format(projection_bn="pass", merge=ADD_RELU),
}
CONV = '''def conv_counts(h_out, w_out, k, c_in, c_out):
    """(params, ops) of a k x k conv with bias whose output is h_out x w_out x c_out."""
    return k * k * c_in * c_out + c_out, h_out * w_out * c_out * (k * k * c_in + 1)


'''
BASIC_COUNTS = (
    CONV
    + """def basic_unit_counts(volume, filters, strides=1):
    h, w, c_in = volume
    h_out, w_out = {sides}
    params, ops = 0, 0
    for k, c, convs in ((3, c_in, True), (3, filters, True), (1, c_in, strides != 1 or c_in != filters)):
        if convs:
            p, o = conv_counts(h_out, w_out, k, c, filters)
            params, ops = params + p, ops + o
    {subsampling}
    return params, ops, (h_out, w_out, filters)"""
)
CEIL, SUBSAMPLING = (
    "math.ceil(h / strides), math.ceil(w / strides)",
    "ops += h_out * w_out * c_in if strides != 1 else 0",
)
BASIC_UNIT_COUNTS = {
    "loop": "import math\n\n\n" + BASIC_COUNTS.format(sides=CEIL, subsampling=SUBSAMPLING),
    "floor_division": BASIC_COUNTS.format(sides="h // strides, w // strides", subsampling=SUBSAMPLING),
    "no_subsampling": "import math\n\n\n" + BASIC_COUNTS.format(sides=CEIL, subsampling="pass"),
}
BOTTLENECK_COUNTS = """def bottleneck_unit_counts(volume, filters, strides=1, expansion=4):
    h, w, c_in = volume
    side = lambda n: (n + strides - 1) // strides
    h_out, w_out, c_out = side(h), side(w), {c_out}
    convs = [(1, c_in, filters), (3, filters, filters), (1, filters, c_out)]
    if strides != 1 or c_in != c_out:
        convs.append((1, c_in, c_out))
    counts = [conv_counts(h_out, w_out, k, a, b) for k, a, b in convs]
    ops = sum(o for _, o in counts) + {subsampling} * h_out * w_out * c_in
    return sum(p for p, _ in counts), ops, (h_out, w_out, c_out)"""
BOTTLENECK_UNIT_COUNTS = {
    "comprehension": BOTTLENECK_COUNTS.format(c_out="expansion * filters", subsampling="(strides != 1)"),
    "four_times": BOTTLENECK_COUNTS.format(c_out="4 * filters", subsampling="(strides != 1)"),
    "both_strided_layers": BOTTLENECK_COUNTS.format(c_out="expansion * filters", subsampling="2 * (strides != 1)"),
}
MACS = """def resnet_macs(unit, stages, num_classes=1000):
    def conv(side, k, c_in, c_out):
        return side * side * c_out * k * k * c_in

    total, channels = conv(112, 7, 3, 64), 64
    for stage, units in enumerate(stages):
        filters, side = 64 * 2 ** stage, 56 // 2 ** stage
        out = filters if unit == "basic" else 4 * filters
        for u in range(units):
            if unit == "basic":
                total += conv(side, 3, channels, filters) + conv(side, 3, filters, filters)
            else:
                total += conv(side, 1, channels, filters) + conv(side, 3, filters, filters) + conv(side, 1, filters, out)
            if {projection}:
                total += conv(side, 1, channels, out)
            channels = out
    return total + channels * {classes}"""
RESNET_MACS = {
    "helper": MACS.format(projection="channels != out or (stage > 0 and u == 0)", classes="num_classes"),
    "no_projections": MACS.format(projection="False", classes="num_classes"),
    "always_1000_classes": MACS.format(projection="channels != out or (stage > 0 and u == 0)", classes="1000"),
}
LAB6_TASKS = ("basic_residual_unit", "basic_unit_counts", "bottleneck_unit_counts", "resnet_macs")
LAB6 = {
    "nested_loop_helper": Answer(
        {
            "basic_residual_unit": BASIC_RESIDUAL_UNIT["nested"],
            "basic_unit_counts": BASIC_UNIT_COUNTS["loop"],
            "bottleneck_unit_counts": BOTTLENECK_UNIT_COUNTS["comprehension"],
            "resnet_macs": RESNET_MACS["helper"],
        }
    ),
    "skip_first_and_noisy": Answer(
        {"basic_residual_unit": BASIC_RESIDUAL_UNIT["skip_first_noisy"], "resnet_macs": RESNET_MACS["helper"]}
    ),
    "comprehension_only": Answer(
        {
            "bottleneck_unit_counts": BOTTLENECK_UNIT_COUNTS["comprehension"],
            "basic_unit_counts": BASIC_UNIT_COUNTS["loop"],
        }
    ),
    "relu_floor_four_no_projection": Answer(
        {
            "basic_residual_unit": BASIC_RESIDUAL_UNIT["relu_before_the_add"],
            "basic_unit_counts": BASIC_UNIT_COUNTS["floor_division"],
            "bottleneck_unit_counts": BOTTLENECK_UNIT_COUNTS["four_times"],
            "resnet_macs": RESNET_MACS["no_projections"],
        },
        wrong=LAB6_TASKS,
        models={"lab6_resnet20": "untrained"},
    ),
    "bn_subsampling_classes": Answer(
        {
            "basic_residual_unit": BASIC_RESIDUAL_UNIT["projection_without_bn"],
            "basic_unit_counts": BASIC_UNIT_COUNTS["no_subsampling"],
            "bottleneck_unit_counts": BOTTLENECK_UNIT_COUNTS["both_strided_layers"],
            "resnet_macs": RESNET_MACS["always_1000_classes"],
        },
        wrong=LAB6_TASKS,
        models={"lab6_resnet20": "diverged"},
    ),
}


# -- lab 8: U-Net --

STEP = """def decoder_step(x, skip, filters, name, padding="valid", batch_norm=False):
    up = layers.Conv2DTranspose(filters, (2, 2), strides=(2, 2), name=f"{{name}}_up")(x)
    dh, dw = skip.shape[1] - up.shape[1], skip.shape[2] - up.shape[2]
    skip = layers.Cropping2D({crop}, name=f"{{name}}_crop")(skip)
    x = layers.concatenate({order}, name=f"{{name}}_concat")
    return double_conv(x, filters, name, padding=padding, batch_norm=batch_norm)"""
CENTRED = "((dh // 2, dh - dh // 2), (dw // 2, dw - dw // 2))"
DECODER_STEP = {
    "always_cropped": STEP.format(crop=CENTRED, order="[skip, up]"),
    "up_first": STEP.format(crop=CENTRED, order="[up, skip]"),
    "top_left_crop": STEP.format(crop="((0, dh), (0, dw))", order="[skip, up]"),
    "sliced_noisy": NOISY
    + """def decoder_step(x, skip, filters, name, padding="valid", batch_norm=False):
    noisy("decoder_step")
    up = layers.Conv2DTranspose(filters, 2, strides=2, padding="valid", name=name + "_up")(x)
    top, left = (skip.shape[1] - up.shape[1]) // 2, (skip.shape[2] - up.shape[2]) // 2
    if top or left:
        skip = layers.Cropping2D(cropping=((top, top), (left, left)), name=name + "_crop")(skip)
    merged = layers.Concatenate(axis=-1, name=name + "_concat")([skip, up])
    return double_conv(merged, filters, name, padding, batch_norm)""",
}
UNET = """def build_unet(input_shape, num_classes=2, base_filters=64, depth=4, padding="valid", batch_norm=False):
    inputs = keras.Input(input_shape)
    options = dict(padding=padding, batch_norm={encoder_bn})
    filters = [base_filters * 2 ** level for level in range(depth + 1)]
    skips, x = [], inputs
    for level in range(depth):
        skip, x = encoder_step(x, filters[level], f"enc{{level + 1}}", **options)
        skips.append(skip)
    x = double_conv(x, filters[depth], "bridge", padding=padding, batch_norm=batch_norm)
    for level in reversed(range(depth)):
        x = decoder_step(x, skips[level], filters[level], f"dec{{level + 1}}", padding=padding, batch_norm=batch_norm)
    scores = layers.Conv2D(num_classes, 1, name="head")(x)
    outputs = layers.Activation({activation}, dtype="float32")(scores)
    return keras.Model(inputs, outputs, name="unet")"""
BUILD_UNET = {
    "lists": UNET.format(encoder_bn="batch_norm", activation='"sigmoid" if num_classes == 1 else "softmax"'),
    "always_softmax": UNET.format(encoder_bn="batch_norm", activation='"softmax"'),
    "no_bn_in_the_encoder": UNET.format(encoder_bn="False", activation='"sigmoid" if num_classes == 1 else "softmax"'),
    "recursive": """def build_unet(input_shape, num_classes=2, base_filters=64, depth=4, padding="valid", batch_norm=False):
    inputs = keras.Input(input_shape)

    def level(x, n):
        if n > depth:
            return double_conv(x, base_filters * 2 ** depth, "bridge", padding=padding, batch_norm=batch_norm)
        skip, pooled = encoder_step(x, base_filters * 2 ** (n - 1), f"enc{n}", padding=padding, batch_norm=batch_norm)
        return decoder_step(level(pooled, n + 1), skip, base_filters * 2 ** (n - 1), f"dec{n}", padding=padding,
                            batch_norm=batch_norm)

    x = layers.Conv2D(num_classes, (1, 1), name="head")(level(inputs, 1))
    outputs = (layers.Activation("sigmoid", dtype="float32") if num_classes == 1
               else layers.Softmax(dtype="float32"))(x)
    return keras.Model(inputs, outputs, name="unet")""",
}
OVERLAP = """def _masks(labels, predicted, label):
    return np.asarray(labels).ravel() == label, np.asarray(predicted).ravel() == label


def dice(labels, predicted, label=1):
    t, p = _masks(labels, predicted, label)
    {dice}


def iou(labels, predicted, label=1):
    t, p = _masks(labels, predicted, label)
    {iou}"""
DICE = "return 2 * np.sum(t & p) / (t.sum() + p.sum()) if t.any() or p.any() else 1.0"
IOU = "return np.count_nonzero(t & p) / np.count_nonzero(t | p) if (t | p).any() else 1.0"
DICE_IOU = {
    "masks": OVERLAP.format(dice=DICE, iou=IOU),
    "from_each_other": """def iou(labels, predicted, label=1):
    truth, guess = np.equal(labels, label), np.equal(predicted, label)
    union = np.logical_or(truth, guess).sum()
    return float(np.logical_and(truth, guess).sum() / union) if union else 1.0


def dice(labels, predicted, label=1):
    j = iou(labels, predicted, label)
    return 2 * j / (1 + j)""",
    "union_as_sum": OVERLAP.format(
        dice=DICE, iou="return np.sum(t & p) / (t.sum() + p.sum()) if t.any() or p.any() else 1.0"
    ),
    "empty_is_zero": OVERLAP.format(
        dice="return 2 * np.sum(t & p) / max(t.sum() + p.sum(), 1)", iou="return np.sum(t & p) / max(np.sum(t | p), 1)"
    ),
}
LAB8_TASKS = ("decoder_step", "build_unet", "dice_iou")
LAB8 = {
    "always_cropped_lists_masks": Answer(
        {
            "decoder_step": DECODER_STEP["always_cropped"],
            "build_unet": BUILD_UNET["lists"],
            "dice_iou": DICE_IOU["masks"],
        }
    ),
    "sliced_noisy_recursive": Answer(
        {"decoder_step": DECODER_STEP["sliced_noisy"], "build_unet": BUILD_UNET["recursive"]}
    ),
    "dice_from_iou": Answer({"dice_iou": DICE_IOU["from_each_other"], "build_unet": BUILD_UNET["lists"]}),
    "up_first_softmax_union": Answer(
        {
            "decoder_step": DECODER_STEP["up_first"],
            "build_unet": BUILD_UNET["always_softmax"],
            "dice_iou": DICE_IOU["union_as_sum"],
        },
        wrong=LAB8_TASKS,
        models={"lab8_unet": "untrained"},
    ),
    "corner_crop_encoder_empty": Answer(
        {
            "decoder_step": DECODER_STEP["top_left_crop"],
            "build_unet": BUILD_UNET["no_bn_in_the_encoder"],
            "dice_iou": DICE_IOU["empty_is_zero"],
        },
        wrong=LAB8_TASKS,
        models={"lab8_unet": "diverged"},
    ),
}

VARIANTS = {
    "lab1_convolution": LAB1,
    "lab2_first_convnet": LAB2,
    "lab3_lenet5": LAB3,
    "lab4_alexnet_vgg": LAB4,
    "lab5_googlenet": LAB5,
    "lab6_resnet": LAB6,
    "lab7_densenet": LAB7,
    "lab8_unet": LAB8,
}


# -- more right answers of lab 5, written yet other ways: the honest students of the copying report's class
# (tests/copying_class.py), beside the solution and the right ones above --

LAB5_MORE = {
    "naive_inception": [
        """def naive_inception(x, ch1x1, ch3x3, ch5x5):
    convolved = [layers.Conv2D(width, size, padding="same", activation="relu")(x)
                 for width, size in [(ch1x1, 1), (ch3x3, 3), (ch5x5, 5)]]
    pooled = layers.MaxPooling2D(pool_size=3, strides=1, padding="same")(x)
    return layers.Concatenate(axis=-1)(convolved + [pooled])""",
        """def naive_inception(x, ch1x1, ch3x3, ch5x5):
    # the four branches of the naive module
    a = layers.Conv2D(filters=ch1x1, kernel_size=(1, 1), padding="same")(x)
    a = layers.ReLU()(a)
    b = layers.Conv2D(filters=ch3x3, kernel_size=(3, 3), padding="same")(x)
    b = layers.ReLU()(b)
    c = layers.Conv2D(filters=ch5x5, kernel_size=(5, 5), padding="same")(x)
    c = layers.ReLU()(c)
    d = layers.MaxPool2D(pool_size=(3, 3), strides=(1, 1), padding="same")(x)
    return layers.concatenate([a, b, c, d], axis=3)""",
    ],
    "inception": [
        """def inception(x, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
    def relu_conv(t, n, size):
        t = layers.Conv2D(n, size, padding="same")(t)
        return layers.Activation("relu")(t)

    one = relu_conv(x, ch1x1, 1)
    three = relu_conv(relu_conv(x, ch3x3red, 1), ch3x3, 3)
    five = relu_conv(relu_conv(x, ch5x5red, 1), ch5x5, 5)
    pool = layers.MaxPooling2D(pool_size=3, strides=1, padding="same")(x)
    return layers.concatenate([one, three, five, relu_conv(pool, pool_proj, 1)])""",
        """def inception(x, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
    plan = {
        "1x1": [(ch1x1, 1)],
        "3x3": [(ch3x3red, 1), (ch3x3, 3)],
        "5x5": [(ch5x5red, 1), (ch5x5, 5)],
    }
    outputs = []
    for name in ("1x1", "3x3", "5x5"):
        y = x
        for width, size in plan[name]:
            y = layers.Conv2D(width, size, padding="same", activation="relu")(y)
        outputs.append(y)
    y = layers.MaxPooling2D(3, 1, padding="same")(x)
    outputs.append(layers.Conv2D(pool_proj, 1, padding="same", activation="relu")(y))
    return layers.Concatenate()(outputs)""",
    ],
    "inception_ops": [
        CONV_OPS
        + """def naive_inception_ops(n, c_in, ch1x1, ch3x3, ch5x5):
    total = n * n * c_in  # the max pooling reads every input value once
    for size, width in zip([1, 3, 5], [ch1x1, ch3x3, ch5x5]):
        total = total + conv_ops(n, c_in, size, width)
    return total


def inception_ops(n, c_in, widths):
    ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj = widths
    reduce_3 = conv_ops(n, c_in, 1, ch3x3red)
    reduce_5 = conv_ops(n, c_in, 1, ch5x5red)
    big_3 = conv_ops(n, ch3x3red, 3, ch3x3)
    big_5 = conv_ops(n, ch5x5red, 5, ch5x5)
    projection = conv_ops(n, c_in, 1, pool_proj)
    return conv_ops(n, c_in, 1, ch1x1) + reduce_3 + big_3 + reduce_5 + big_5 + n * n * c_in + projection""",
        CONV_OPS
        + """def naive_inception_ops(n, c_in, ch1x1, ch3x3, ch5x5):
    layers_ = {1: ch1x1, 3: ch3x3, 5: ch5x5}
    return sum([conv_ops(n, c_in, k, w) for k, w in layers_.items()]) + c_in * n ** 2


def inception_ops(n, c_in, widths):
    a, b_red, b, c_red, c, d = widths
    first_layer = sum(conv_ops(n, c_in, 1, w) for w in (a, b_red, c_red))
    second_layer = conv_ops(n, b_red, 3, b) + conv_ops(n, c_red, 5, c)
    return first_layer + second_layer + c_in * n ** 2 + conv_ops(n, c_in, 1, d)""",
    ],
    "googlenet_params": [
        """def inception_params(c_in, widths):
    ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj = widths
    kernels = (c_in * ch1x1 + c_in * ch3x3red + 9 * ch3x3red * ch3x3
               + c_in * ch5x5red + 25 * ch5x5red * ch5x5 + c_in * pool_proj)
    biases = ch1x1 + ch3x3red + ch3x3 + ch5x5red + ch5x5 + pool_proj
    return kernels + biases


def googlenet_params(modules, num_classes=1000):
    stem = [(7, 3, 64), (1, 64, 64), (3, 64, 192)]
    count = sum(k * k * a * b + b for k, a, b in stem)
    depth = 192
    for entry in filter(lambda m: m != "pool", modules):
        w = entry[1]
        count += inception_params(depth, w)
        depth = w[0] + w[2] + w[4] + w[5]
    count += depth * num_classes + num_classes
    return count""",
        """def inception_params(c_in, widths):
    ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj = widths
    layers_ = [(1, c_in, ch1x1), (1, c_in, ch3x3red), (3, ch3x3red, ch3x3),
               (1, c_in, ch5x5red), (5, ch5x5red, ch5x5), (1, c_in, pool_proj)]
    result = 0
    for k, n_in, n_out in layers_:
        result += (k * k * n_in + 1) * n_out
    return result


def googlenet_params(modules, num_classes=1000):
    widths = [m[1] for m in modules if m != "pool"]
    channels_in = [192]
    for w in widths[:-1]:
        channels_in.append(w[0] + w[2] + w[4] + w[5])
    last = widths[-1][0] + widths[-1][2] + widths[-1][4] + widths[-1][5]
    stem = (49 * 3 + 1) * 64 + (64 + 1) * 64 + (9 * 64 + 1) * 192
    return stem + sum(inception_params(c, w) for c, w in zip(channels_in, widths)) + (last + 1) * num_classes""",
    ],
    "params_ratio": [
        """alex = profile(build("alexnet"))
params_ratio = alex.total_params / googlenet_table.total_params
print(f"AlexNet has {params_ratio:.2f} times as many parameters as GoogLeNet")""",
        """tables = {name: profile(build(name)) for name in ("alexnet", "googlenet")}
params_ratio = tables["alexnet"].total_params / tables["googlenet"].total_params
print(f"AlexNet has {params_ratio:.2f} times as many parameters as GoogLeNet")""",
    ],
    "auxiliary_params": [
        """def auxiliary_params(c_in, side=14, num_classes=1000):
    after_pool = 1 + (side - 5) // 3  # 5x5 average pooling, stride 3, no padding
    conv1x1 = (c_in + 1) * 128
    fully_connected = (after_pool ** 2 * 128 + 1) * 1024
    classifier = (1024 + 1) * num_classes
    return conv1x1 + fully_connected + classifier""",
        """def auxiliary_params(c_in, side=14, num_classes=1000):
    def dense_like(inputs, outputs):
        return inputs * outputs + outputs

    s = (side - 5) // 3 + 1
    return dense_like(c_in, 128) + dense_like(s * s * 128, 1024) + dense_like(1024, num_classes)""",
    ],
    "googlenet_loss": [
        """def googlenet_loss(y_true, outputs):
    main, *auxiliary = outputs
    def mean_ce(p):
        return float(keras.ops.mean(keras.losses.sparse_categorical_crossentropy(y_true, p)))
    return mean_ce(main) + 0.3 * sum(mean_ce(p) for p in auxiliary)""",
        """def googlenet_loss(y_true, outputs):
    loss = keras.losses.SparseCategoricalCrossentropy()
    values = [float(loss(y_true, p)) for p in outputs]
    return values[0] + 0.3 * values[1] + 0.3 * values[2]""",
    ],
}
