"""A worker's model checks: its jailed model server, kept across its submissions (Keras imported once per worker),
each submission's models measured by it, and their points put in the submission's result."""

import json
import time

_SANDBOXES = {}  # this worker's model sandboxes, by their settings


def model_sandbox(job):
    """This worker's `checks.ModelSandbox` for `job`'s jail and limits, its model server started: one per worker
    process, kept across its jobs (Keras is imported once per worker). Call it from the worker's main thread: a
    jail dies with the thread that started it."""
    from cnnlab.grading.jail.bwrap import Jail
    from cnnlab.grading.modelcheck.checks import ModelSandbox

    key = json.dumps([job.jail, job.limits["memory_mb"], job.model_timeout, job.limits["processes"], job.model_work])
    if key not in _SANDBOXES:
        _SANDBOXES[key] = ModelSandbox(
            Jail.from_json(job.jail),
            memory_mb=job.limits["memory_mb"],
            timeout_s=job.model_timeout,
            processes=job.limits["processes"],
            work=job.model_work,
        )
    sandbox = _SANDBOXES[key]
    sandbox.server.start()
    return sandbox


def close_model_sandboxes():
    """End this worker's model servers and remove their folders."""
    while _SANDBOXES:
        _SANDBOXES.popitem()[1].server.close()


def measure_models(job, config, sandbox):
    """Each model of `config` checked by `sandbox`'s model server, each in its own forked child, and judged here
    (`checks.run_model`): [(spec, ModelRun)], in the config's order, with the seconds it took in all."""
    from cnnlab.grading.modelcheck.checks import run_model

    started = time.monotonic()
    runs = [
        (spec, run_model(spec, job.submission_dir, job.data_dir, job.quick, sandbox, job.images_seed))
        for spec in config.models
    ]
    return runs, round(time.monotonic() - started, 3)


def score_models(runs, graded, result):
    """The model checks are decisive: the points of each (spec, ModelRun) replace the score of its test cell in
    `graded`, their results go into `result`."""
    for spec, run in runs:
        results = run.results
        result.models += [r.to_json() for r in results]
        result.model_runs = (result.model_runs or []) + [run.to_json()]
        if spec.grade_id in graded:
            entry = graded[spec.grade_id]
            entry["score"] = float(sum(r.score for r in results))
            entry["state"] = "passed" if all(r.passed for r in results) else "failed"
            entry["hidden_failed"] = False
            entry["model"] = spec.name  # the summary names its failed checks after this test
        if run.outcome != "measured":
            result.note(run.reason, "timeout" if run.outcome == "timeout" else "error")
