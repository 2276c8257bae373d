"""The copying report's model files: fingerprints read without Keras, and a class of models trained in the test
(tests/copying_class.py: 16 honest students, 4 copies: regrouped layers, a perturbation, two fine-tunings) in which
copies must be listed and honest pairs never, whether the students' seeds differ or, as the labs fix it, not."""

import zipfile

import numpy as np
import pytest
from copying_class import MODEL, model_class

from cnnlab.grading.modelcheck.inspection import RefusedModel
from cnnlab.grading.similarity import weights
from cnnlab.grading.similarity.report import MODEL_FLAG, MODEL_FLAG_SHARED_START, model_bar


def test_a_sketch_estimates_the_correlation_and_is_exactly_1_for_the_same_tensor():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 3, 16, 32))
    b = 0.8 * a + 0.6 * rng.normal(size=a.shape)  # correlation 0.8
    sa, sb = weights.sketch(a), weights.sketch(b)
    assert float(sa @ weights.sketch(a.copy())) == pytest.approx(1, abs=1e-6)
    assert float(sa @ sb) == pytest.approx(np.corrcoef(a.ravel(), b.ravel())[0, 1], abs=0.1)
    assert abs(float(sa @ weights.sketch(rng.normal(size=a.shape)))) < 0.15
    assert weights.sketch(np.ones(64)) is None  # a constant tensor says nothing


def test_fingerprints_leave_out_the_optimizer_and_do_not_depend_on_layer_names(tmp_path):
    import keras
    from copying_class import convnet

    keras.utils.set_random_seed(0)
    model = convnet()
    model.compile("adam", "mse")
    model.fit(np.zeros((2, 16, 16, 1)), np.zeros((2, 4)), verbose=0)  # the optimizer's state is saved too
    model.save(tmp_path / "plain.keras")
    grouped = convnet(grouped=True)
    grouped.set_weights(model.get_weights())
    grouped.save(tmp_path / "grouped.keras")
    plain, other = weights.sketch_model(tmp_path / "plain.keras"), weights.sketch_model(tmp_path / "grouped.keras")
    assert not any(path.startswith("optimizer") for path in plain["paths"])
    assert sorted(plain["shapes"]) == sorted(other["shapes"]) and list(plain["paths"]) != list(other["paths"])
    group = weights.compare({"a": plain, "b": other}, MODEL)
    assert group.pairs[0].correlation == pytest.approx(1, abs=1e-6)
    with zipfile.ZipFile(tmp_path / "bad.keras", "w") as archive:
        archive.writestr("config.json", '{"class_name": "Lambda"}')
    with pytest.raises(RefusedModel):
        weights.sketch_model(tmp_path / "bad.keras")


@pytest.mark.copying
@pytest.mark.parametrize("shared_seed", [False, True], ids=["own seeds", "the lab's fixed seed"])
def test_copied_weights_are_listed_and_honest_models_never(tmp_path, shared_seed):
    truth = model_class(tmp_path, shared_seed)
    fingerprints = {p.name: weights.sketch_model(p / f"{MODEL}.keras") for p in sorted(tmp_path.iterdir())}
    group = weights.compare(fingerprints, MODEL, evidence_from=MODEL_FLAG)
    listed = {frozenset((p.a, p.b)) for p in group.pairs if p.score >= model_bar(group)}
    assert group.shared_start == shared_seed
    assert listed - truth == set(), [(p.a, p.b, round(p.score, 3)) for p in group.pairs[:8]]
    if shared_seed:
        # every model starts from the same weights: only the file with the copied weights themselves stands out;
        # a perturbed or further trained copy is as far from its source as honest students are from each other
        assert model_bar(group) == MODEL_FLAG_SHARED_START
        assert listed == {frozenset(("copy_regrouped", "model_02"))}
    else:
        assert listed == truth
    regrouped = next(p for p in group.pairs if {p.a, p.b} == {"copy_regrouped", "model_02"})
    assert regrouped.score == pytest.approx(1, abs=1e-6)
    assert all(m.correlation == pytest.approx(1, abs=1e-5) for m in regrouped.matches)
    assert any(m.path_a != m.path_b for m in regrouped.matches)  # the evidence: the same tensors under other names
