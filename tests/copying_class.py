"""A lab-5 class whose truth is known, for the copying report's tests (tests/grading/similarity/).

Honest students answer each task with one of the answers written independently of each other: the solution's, the
right ones and the wrong ones of `answer_variants.LAB5`, and `answer_variants.LAB5_MORE`; the pick is random (seeded),
so two honest students often share the same answer to a task or two, as real students writing the obvious line do.
Some write the lab's written answer (`WRITTEN`, each in their own words), the others leave it blank. Copiers take
another student's answers and disguise them (`COPIES`): identifiers renamed, statements reordered, comments and
blank lines added, the written answer reworded, or only some cells copied.
"""

import ast
import json
import random
import re

from answer_variants import LAB5, LAB5_MORE
from grading_helpers import ROOT

LAB = "lab5_googlenet"
WRITTEN_ID = "explain_1x1_savings"
HONEST = 24

WRITTEN = [
    "A convolution costs n^2 * c_out * (k^2 * c_in + 1) operations, so the expensive 5x5 and 3x3 kernels pay for "
    "every input channel. Putting a cheap 1x1 convolution first shrinks 832 channels to 48 (or 192) before them: "
    "the 5x5 branch drops from about 130 million operations to 9.5 million, and the whole module from 287,091,392 "
    "to 70,800,688, four times less.",
    "The cost of a k x k conv grows with k^2 times the number of input channels. The 1x1 layers reduce the depth "
    "first (832 -> 192 for the 3x3 path, 832 -> 48 for the 5x5 path), so the big kernels work on thin inputs. For "
    "inception(5b) the naive module needs 287.1 M operations and the reduced one 70.8 M (ratio 4.05). The pool "
    "projection also keeps the output at 1024 channels instead of 1728.",
    "Bottlenecks. Each 1x1 conv is a per-pixel linear map that cuts the channel count, and it is cheap because its "
    "kernel has one tap. After it the 5x5 conv sees 48 channels rather than 832, which divides its cost by more than "
    "ten. In my numbers: 287091392 operations without the reductions, 70800688 with them.",
    "Without reduction, 5x5 convolutions applied to the 832 input maps dominate: 128 filters of 5*5*832 weights on "
    "49 positions. The inception module first projects the input to few channels with 1x1 filters, which is almost "
    "free, and only then applies the 3x3 and 5x5 filters. That is why the slide's total falls to 70,800,688.",
    "Operations scale with input channels times output channels times the kernel area. A 1x1 convolution changes "
    "only the channels, so placing it before the large kernels lowers the input channels they see. Lab numbers: "
    "5x5 branch 130,463,872 operations naive, 1,959,216 + 7,532,672 with the 48-channel reduction.",
    "The naive module is expensive because every branch reads all 832 channels and its output keeps growing "
    "(1728 channels). Dimension reduction with 1x1 convs controls both: the cost goes down by a factor of about 4 "
    "(287 million to 71 million operations) and the output has 1024 channels.",
    "Reducing first is cheap: a 1x1 conv from 832 to 48 channels costs 49 * 48 * 833 = 1.96 M operations, while "
    "it saves the 5x5 layer from reading 832 channels (130 M operations becomes 7.5 M). The same trick on the 3x3 "
    "branch and the pool projection gives 70.8 M for the module instead of 287 M.",
    "I think the reason is that the multiplications depend on how many channels come in. The 1x1 filters compress "
    "the channels (like a bottleneck layer), so the following 3x3 and 5x5 filters have much less to multiply. The "
    "module then costs about a quarter: 70,800,688 against 287,091,392 operations for the naive version.",
    "Per output position a 5x5 filter on 832 channels needs 20,800 multiply-adds; on 48 channels only 1,200. The "
    "1x1 reduction is what brings the channels down, at the price of 833 multiply-adds per reduced channel. "
    "Summed over the module and the 7x7 positions this is the 4.05x saving between the two slides.",
    "Inception(5b) on 7x7x832: naive 287,091,392 ops, reduced 70,800,688 ops. The savings come from the 1x1 "
    "convolutions acting as a bottleneck: they are cheap per output channel and lower the input depth of the "
    "expensive convolutions, and the pool projection stops the depth from adding up from module to module.",
]

# (copier, the student copied, what the copier changed)
COPIES = [
    ("copier_renames", "honest_03", ("rename",)),
    ("copier_reorders_and_comments", "honest_07", ("reorder", "comment")),
    ("copier_everything", "honest_11", ("rename", "reorder", "comment", "blank_lines")),
    ("copier_some_cells", "honest_15", ("rename", "some_cells")),
    ("copier_reworded", "honest_01", ("rename", "reword")),
    ("copier_of_a_copier", "copier_renames", ("reorder", "comment")),
]


def solution_answers():
    nb = json.loads((ROOT / "solutions" / LAB / f"{LAB}.ipynb").read_text())
    return {
        c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"])
        for c in nb["cells"]
        if c["metadata"].get("nbgrader", {}).get("solution") and c["cell_type"] == "code"
    }


def pool():
    """{grade_id: [answers written independently]} of lab 5's code answer cells."""
    answers = {
        grade_id: [re.sub(r"\s*### (BEGIN|END) SOLUTION", "", source)]
        for grade_id, source in solution_answers().items()
    }
    for student in LAB5.values():
        for grade_id, source in student.cells.items():
            if source not in answers[grade_id]:
                answers[grade_id].append(source)
    for grade_id, sources in LAB5_MORE.items():
        answers[grade_id] += sources
    return answers


# -- disguises --


class _Locals(ast.NodeVisitor):
    """The names a function body binds that are neither its name nor its arguments (what a copier renames)."""

    def __init__(self):
        self.api, self.bound = set(), set()

    def visit_FunctionDef(self, node):
        self.api.add(node.name)
        self.api.update(a.arg for a in node.args.args + node.args.kwonlyargs)
        self.generic_visit(node)

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Store):
            self.bound.add(node.id)


def rename(source, rng):
    tree = ast.parse(source)
    names = _Locals()
    names.visit(tree)
    new = {
        name: f"{rng.choice(['tmp', 'val', 'res', 'my', 'q'])}_{name[::-1]}_{i}"
        for i, name in enumerate(sorted(names.bound - names.api))
    }

    class Rename(ast.NodeTransformer):
        def visit_Name(self, node):
            node.id = new.get(node.id, node.id)
            return node

    return ast.unparse(Rename().visit(tree))


def _reads_writes(statement):
    reads, writes = set(), set()
    for node in ast.walk(statement):
        if isinstance(node, ast.Name):
            (writes if isinstance(node.ctx, ast.Store) else reads).add(node.id)
    return reads, writes


def reorder(source, rng):
    """Swap neighbouring statements of every body that do not depend on each other (the program is unchanged)."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(body, list):
            continue
        for i in range(len(body) - 1):
            a, b = body[i], body[i + 1]
            if isinstance(a, (ast.Return, ast.FunctionDef)) or isinstance(b, (ast.Return, ast.FunctionDef)):
                continue
            ra, wa = _reads_writes(a)
            rb, wb = _reads_writes(b)
            if not (wa & (rb | wb) or wb & ra) and rng.random() < 0.8:
                body[i], body[i + 1] = b, a
    return ast.unparse(tree)


def comment(source, rng):
    notes = ["# compute it step by step", "# see the lecture", "# TODO check", "# my own helper", "# this works"]
    lines = []
    for line in source.split("\n"):
        if line.strip() and rng.random() < 0.4:
            lines.append(line[: len(line) - len(line.lstrip())] + rng.choice(notes))
        lines.append(line + ("  # ok" if line.strip() and rng.random() < 0.2 else ""))
    return "\n".join(lines)


def blank_lines(source, rng):
    return "\n".join(line + ("\n" if rng.random() < 0.3 else "") for line in source.split("\n"))


def reword(text, rng):
    swaps = {
        "operations": "ops",
        "channels": "feature maps",
        "cheap": "inexpensive",
        "expensive": "costly",
        "convolution": "conv layer",
        "reduce": "shrink",
    }
    for old, new in swaps.items():
        text = text.replace(old, new)
    sentences = re.split(r"(?<=\.) ", text)
    if len(sentences) > 2:
        sentences[0], sentences[1] = sentences[1], sentences[0]
    return " ".join(sentences)


def copying_class(seed=0):
    """({student: {grade_id: answer}} as `answers` keeps them, {frozenset of two students whose answers
    come from one another's, directly or through another copier})."""
    rng = random.Random(seed)
    answers = pool()
    students = {}
    for n in range(HONEST):
        student = f"honest_{n:02d}"
        mine = {
            gid: {"cell_type": "code", "source": rng.choice(options), "manual": False}
            for gid, options in answers.items()
        }
        written = WRITTEN[n] if n < len(WRITTEN) else "YOUR ANSWER HERE"
        mine[WRITTEN_ID] = {"cell_type": "markdown", "source": written, "manual": True}
        students[student] = mine
    truth, clusters = set(), {}  # a copier joins the cluster of the student copied: every two of it are a copy
    for copier, original, changes in COPIES:
        mine = {}
        cells = sorted(students[original])
        kept = set(rng.sample(cells, 5)) if "some_cells" in changes else set(cells)
        for gid, answer in students[original].items():
            source = answer["source"]
            if gid not in kept:
                source = rng.choice(answers[gid]) if gid in answers else "YOUR ANSWER HERE"
            elif answer["cell_type"] == "code":
                for change in ("rename", "reorder", "comment", "blank_lines"):
                    if change in changes:
                        source = globals()[change](source, rng)
            elif "reword" in changes:
                source = reword(source, rng)
            mine[gid] = dict(answer, source=source)
        students[copier] = mine
        clusters.setdefault(original, {original}).add(copier)
        clusters[copier] = clusters[original]
    for cluster in {id(c): c for c in clusters.values()}.values():
        truth |= {frozenset((a, b)) for a in cluster for b in cluster if a < b}
    return students, truth


# -- a class of model files: honest ones trained independently, copies of another student's weights --

MODEL = "tiny_convnet"
HONEST_MODELS = 16
MODEL_COPIES = [
    ("copy_regrouped", "model_02", "the same weights in a network whose layers are grouped and named otherwise"),
    ("copy_perturbed", "model_05", "the weights plus noise of 5% of each tensor's spread"),
    ("copy_fine_tuned", "model_08", "trained 2 more epochs from the copied weights, on other images"),
    ("copy_retrained", "model_11", "trained 4 more epochs from the copied weights at a 3 times larger step"),
]


def _images(seed, count=2000):
    """16x16 images whose label is their brightest quadrant (4 classes), with noise."""
    import numpy as np

    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, count)
    x = rng.normal(0, 1, (count, 16, 16, 1)).astype("float32")
    for label, (r, c) in enumerate([(0, 0), (0, 8), (8, 0), (8, 8)]):
        x[y == label, r : r + 8, c : c + 8] += 0.8
    return x, y


def convnet(grouped=False):
    import keras
    from keras import layers

    inputs = keras.Input((16, 16, 1))
    if grouped:  # the same computation, its layers inside a nested block under other names
        features = keras.Sequential(
            [
                layers.Conv2D(8, 3, activation="relu", name="first"),
                layers.MaxPooling2D(name="down"),
                layers.Conv2D(16, 3, activation="relu", name="second"),
            ],
            name="features",
        )
        x = layers.Flatten(name="flat")(layers.MaxPooling2D(name="down2")(features(inputs)))
        return keras.Model(inputs, layers.Dense(4, activation="softmax", name="head")(x))
    x = layers.Conv2D(8, 3, activation="relu")(inputs)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(16, 3, activation="relu")(x)
    x = layers.Flatten()(layers.MaxPooling2D()(x))
    return keras.Model(inputs, layers.Dense(4, activation="softmax")(x))


def _fit(model, seed, epochs, learning_rate=1e-3, data_seed=None):
    import keras

    keras.utils.set_random_seed(seed)
    x, y = _images(seed if data_seed is None else data_seed)
    model.compile(keras.optimizers.Adam(learning_rate), "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=epochs, batch_size=64, verbose=0)
    return model


def model_class(folder, shared_seed=False):
    """Save the class's model files as `folder/<student>/tiny_convnet.keras`; returns the copied pairs (as
    `copying_class`). Honest students train from their own seed, or with `shared_seed` all from seed 0 (as the labs
    fix it) on differently shuffled data (as other hardware would diverge)."""
    import keras
    import numpy as np

    def save(student, model):
        (folder / student).mkdir(parents=True, exist_ok=True)
        model.save(folder / student / f"{MODEL}.keras")

    trained = {}
    for n in range(HONEST_MODELS):
        student = f"model_{n:02d}"
        keras.utils.set_random_seed(0 if shared_seed else n)
        trained[student] = _fit(convnet(), 0 if shared_seed else n, 2, data_seed=100 + n)
        save(student, trained[student])
    truth = set()
    for copier, original, _ in MODEL_COPIES:
        source = trained[original]
        if copier == "copy_regrouped":
            model = convnet(grouped=True)
            model.set_weights(source.get_weights())
        else:
            model = keras.models.clone_model(source)
            model.set_weights(source.get_weights())
            if copier == "copy_perturbed":
                rng = np.random.default_rng(1)
                model.set_weights([w + rng.normal(0, 0.05 * (w.std() or 1), w.shape) for w in source.get_weights()])
            elif copier == "copy_fine_tuned":
                _fit(model, 50, 2, data_seed=500)
            else:
                _fit(model, 51, 4, learning_rate=3e-3, data_seed=501)
        save(copier, model)
        truth.add(frozenset((copier, original)))
    return truth
