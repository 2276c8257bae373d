"""Lookup tables of public test images, as a student who wants the accuracy points without training would build them:
Keras models of layers the grader allows (Dense, pooling, Multiply, Softmax, ...), small enough for its weights cap.
Shared by tests/grading/modelcheck/test_memorization.py and the corpus (tests/grading/probes/test_corpus_secrets.py).

- `exact_lookup`: the label of the image whose template the input matches within a hair (else class 0);
- `nearest_template`: the label of the nearest template (a nearest-neighbour classifier of the test set itself);
- `membrane_table`: the stored mask of the nearest membrane slice, padded to a given parameter count.
"""

import numpy as np


def templates(x, pool):
    """Images (n, h, w[, 1]) as the tables see them: in [0, 1], averaged over `pool` x `pool` blocks, flattened."""
    n, h, w = x.shape[:3]
    blocks = x.reshape(n, h // pool, pool, w // pool, pool).astype(np.float32) / 255
    return blocks.mean(axis=(2, 4)).reshape(n, -1)


def features_of(shape, pool):
    """(a uint8 input of `shape`, its features as `templates` computes them)."""
    import keras

    inputs = keras.Input(shape, dtype="uint8")
    pooled = keras.layers.AveragePooling2D(pool)(keras.layers.Rescaling(1 / 255)(inputs))
    return inputs, keras.layers.Flatten()(pooled)


def dense(units, kernel, name, bias=None):
    """A Dense layer with this kernel (and bias, or none)."""
    import keras

    layer = keras.layers.Dense(units, name=name, use_bias=bias is not None)
    layer.build((None, kernel.shape[0]))
    layer.set_weights([kernel.astype(np.float32)] + ([bias.astype(np.float32)] if bias is not None else []))
    return layer


def template_scores(table, scale, shift):
    """Dense: scale (2 f.t - |t|^2) + shift for each row t of `table`: the nearest row scores highest."""
    return dense(len(table), 2 * scale * table.T, "templates", scale * -(table**2).sum(1) + shift)


def exact_lookup(x, y, classes=10, pool=4, within=1e-3):
    """The label of the image whose template lies within `within` (squared distance) of the input's features f,
    else class 0: ReLU(within - |f - t|^2) for each template t, |f|^2 computed from f itself."""
    import keras

    table = templates(x, pool)
    inputs, features = features_of(x.shape[1:], pool)
    square = dense(1, np.ones((table.shape[1], 1)), "square")(keras.layers.Multiply()([features, features]))
    squares = dense(len(table), np.ones((1, len(table))), "squares")(square)
    hits = keras.layers.ReLU()(keras.layers.Subtract()([template_scores(table, 1.0, within)(features), squares]))
    labels = dense(classes, np.eye(classes)[y] / within, "labels")(hits)
    return keras.Model(inputs, keras.layers.Softmax()(labels), name="exact_lookup")


def nearest_template(x, y, classes=10, pool=4, sharpness=1e4):
    """The label of the nearest template: a sharp softmax over the templates' scores, then their labels."""
    import keras

    table = templates(x, pool)
    inputs, features = features_of(x.shape[1:], pool)
    nearest = keras.layers.Softmax()(template_scores(table, sharpness, 0.0)(features))
    return keras.Model(inputs, dense(classes, np.eye(classes)[y], "labels")(nearest), name="nearest_template")


def padding(needed, wide_inputs, narrow_inputs, outputs):
    """(wide, narrow): the units of a Dense on the wide features and of one on the narrow ones, each followed by a
    Dense(outputs) without bias, that hold `needed` parameters in all."""
    per_wide, per_narrow = wide_inputs + 1 + outputs, narrow_inputs + 1 + outputs
    for wide in range(needed // per_wide, -1, -1):
        if (needed - wide * per_wide) % per_narrow == 0:
            return wide, (needed - wide * per_wide) // per_narrow
    raise ValueError(f"no padding of {needed} parameters")


def membrane_table(x, masks, params, pool=8):
    """(None, h, w, 1) -> (None, h, w, 1) with exactly `params` weights: the stored mask (the probability of label 1)
    of the nearest of the slices `x`; branches whose last layer is all zeros bring it to `params`."""
    import keras

    table, pixels = templates(x, pool), masks[0].size
    inputs, features = features_of(x.shape[1:], pool)
    nearest = keras.layers.Softmax()(template_scores(table, 1e4, 0.0)(features))
    base = (table.shape[1] + 1) * len(table) + (len(table) + 1) * pixels
    wide, narrow = padding(params - base, table.shape[1], len(table), len(table))
    zeros = [
        dense(len(table), np.zeros((units, len(table))), f"zeros_{i}")(
            keras.layers.Dense(units, name=f"padding_{i}")(source)
        )
        for i, (units, source) in enumerate(((wide, features), (narrow, nearest)))
        if units
    ]
    stored = np.where(masks.reshape(len(masks), pixels) > 0, 20.0, -20.0)
    logits = dense(pixels, stored, "masks", np.zeros(pixels))(keras.layers.Add()([nearest, *zeros]))
    outputs = keras.layers.Activation("sigmoid")(keras.layers.Reshape((*masks.shape[1:], 1))(logits))
    return keras.Model(inputs, outputs, name="membrane_table")
