"""How the batch makes a worker's job (`cnnlab.grading.worker.job.Job`, written as `job.json`) for a submission: its
folders, its kernel's limits, kernelspec and environment (`cnnlab.grading.jail.policy`), and the grader's own copy
of its models."""

import json
import shutil
import tempfile
from pathlib import Path

from cnnlab.grading import secret
from cnnlab.grading.intake.discover import file_digests
from cnnlab.grading.jail import policy
from cnnlab.grading.worker.job import Job


def make_job(submission, options, setup):
    """Write `job.json` for `submission` in its own work folder, with a private folder for its kernel (removed
    by the caller); returns (job path, private folder)."""
    work = options.out / ".work" / options.lab / submission.slug
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    private = Path(tempfile.mkdtemp(prefix=f"{submission.slug}-", dir=setup["private_root"]))
    scratch, runtime, tmp = private / "scratch", private / "runtime", private / "tmp"
    for d in (runtime, tmp):
        d.mkdir()
    protected = [options.out.resolve(), options.source.resolve(), setup["submissions_root"], setup["private_root"]]
    if options.data_dir:
        protected.append(Path(options.data_dir).resolve())
    limits = policy.limits(options.memory_mb, options.timeout, options.processes, [private], protected)
    policy.write_kernelspec(private / "jupyter", setup["jail"], limits, writable=[private], cwd=scratch)
    env = policy.environment(
        scratch,
        tmp,
        CNNLAB_GRADING="1",
        CNNLAB_QUICK="1" if options.quick else "0",
        MPLCONFIGDIR=scratch / ".mpl",
        IPYTHONDIR=private / "ipython",
        JUPYTER_PATH=private / "jupyter",
        JUPYTER_RUNTIME_DIR=runtime,
        JUPYTER_CONFIG_DIR=private / "jupyter-config",
        JUPYTER_PLATFORM_DIRS="1",
    )
    job = Job(
        lab=options.lab,
        student=submission.student,
        slug=submission.slug,
        work_dir=str(work),
        scratch=str(scratch),
        notebook=str(submission.notebook) if submission.notebook else None,
        notebook_name=setup["config"].notebook,
        missing_reason=submission.missing_reason,
        missing_status=submission.status.value,
        intake_notes=submission.notes,
        files={name: str(path) for name, path in submission.files.items()},
        submission_dir=str(work / "models"),
        released=str(setup["released"]),
        gradebook=str(setup["snapshot"]),
        config=setup["config"].to_json(),
        max_score=setup["max_score"],
        cell_timeout=options.cell_timeout,
        limits=limits,
        isolation=setup["isolation"],
        mpl_cache=str(setup["mpl"]),
        jail=setup["jail"].to_json(),
        model_timeout=options.model_timeout,
        model_work=str(options.out / ".work" / options.lab / "jail"),
        data_dir=str(options.data_dir) if options.data_dir else None,
        quick=options.quick,
        env=env,
        result=str(work / "result.json"),
        feedback_html=str(work / "feedback.html"),
        autograded=str(work / "autograded.ipynb"),
        reference=setup["reference"],
        probe_seed=secret.submission_seed(
            setup["secret"], options.lab, submission.student, file_digests(submission, setup["config"].notebook)
        ),
        images_seed=secret.images_seed(setup["secret"], options.lab),
    )
    (work / "models").mkdir()
    for name, path in submission.files.items():  # the grader's own copy of the models: the kernel cannot touch it
        shutil.copy(path, work / "models" / name)
    (work / "job.json").write_text(json.dumps(job.to_json(), indent=1))
    return work / "job.json", private
