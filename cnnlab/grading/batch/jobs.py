"""How the batch makes a worker's job (`cnnlab.grading.worker.job.Job`, written as `job.json`) for a submission: its
work folder, its kernel's limits (`cnnlab.grading.jail.policy`), and the grader's own copy of its models. The
kernel's own folders are the worker's kernel server's (`cnnlab.grading.jail.kernels`), in the batch's private
root."""

import json
from pathlib import Path
from shutil import copy

from cnnlab.grading import secret
from cnnlab.grading.intake.discover import file_digests
from cnnlab.grading.jail import policy
from cnnlab.grading.jail.files import remove_tree
from cnnlab.grading.worker.job import Job


def make_job(submission, options, setup):
    """Write `job.json` for `submission` in its own work folder (the grader's: no kernel sees it); its path."""
    work = options.out / ".work" / options.lab / submission.slug
    if work.exists() and not remove_tree(work):
        raise OSError(f"{work} could not be removed")
    work.mkdir(parents=True)
    job = _job(
        options,
        setup,
        work,
        student=submission.student,
        slug=submission.slug,
        notebook=str(submission.notebook) if submission.notebook else None,
        missing_reason=submission.missing_reason,
        missing_status=submission.status.value,
        intake_notes=submission.notes,
        files={name: str(path) for name, path in submission.files.items()},
        probe_seed=secret.submission_seed(
            setup["secret"], options.lab, submission.student, file_digests(submission, setup["config"].notebook)
        ),
    )
    (work / "models").mkdir()
    for name, path in submission.files.items():  # the grader's own copy of the models: the kernel cannot touch it
        copy(path, work / "models" / name)
    (work / "job.json").write_text(json.dumps(job.to_json(), indent=1))
    return work / "job.json"


def make_warm_up(options, setup):
    """Write `warm-up.json`, a job without a submission: the settings from which a worker starts its kernel server
    and model server before its first job arrives (`cnnlab.grading.worker.main`); its path. With no submission, it
    has no seed of probe inputs (an empty `probe_seed`)."""
    work = options.out / ".work" / options.lab
    work.mkdir(parents=True, exist_ok=True)
    job = _job(
        options,
        setup,
        work,
        student="",
        slug="",
        notebook=None,
        missing_reason="",
        missing_status="",
        probe_seed="",
    )
    (work / "warm-up.json").write_text(json.dumps(job.to_json(), indent=1))
    return work / "warm-up.json"


def _job(options, setup, work, **submission):
    """The `Job` of one submission (`submission`: its own fields) in the work folder `work`."""
    protected = [options.out.resolve(), options.source.resolve(), setup["submissions_root"], setup["private_root"]]
    if options.data_dir:
        protected.append(Path(options.data_dir).resolve())
    return Job(
        lab=options.lab,
        work_dir=str(work),
        private_root=str(setup["private_root"]),
        notebook_name=setup["config"].notebook,
        submission_dir=str(work / "models"),
        released=str(setup["released"]),
        gradebook=str(setup["snapshot"]),
        config=setup["config"].to_json(),
        max_score=setup["max_score"],
        cell_timeout=options.cell_timeout,
        limits=policy.limits(options.memory_mb, options.timeout, options.processes, [], protected),
        isolation=setup["isolation"],
        mpl_cache=str(setup["mpl"]),
        jail=setup["jail"].to_json(),
        model_timeout=options.model_timeout,
        model_work=str(options.out / ".work" / options.lab / "jail"),
        data_dir=str(options.data_dir) if options.data_dir else None,
        quick=options.quick,
        result=str(work / "result.json"),
        feedback_html=str(work / "feedback.html"),
        autograded=str(work / "autograded.ipynb"),
        reference=setup["reference"],
        images_seed=secret.images_seed(setup["secret"], options.lab),
        releases=setup.get("releases", []),
        **{"intake_notes": [], "files": {}, **submission},
    )
