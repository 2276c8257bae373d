"""The job record the batch hands to a worker (`job.json`), and how the batch makes one for a submission: its
folders, its kernel's limits, kernelspec and environment, and the grader's own copy of its models."""

import json
import os
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from cnnlab.grading import jail as jails
from cnnlab.grading.options import ROOT

KERNEL_NAME = "cnnlab-sandbox"
KERNEL_ENV = {"PATH", "LANG", "LANGUAGE", "TZ", "KERAS_BACKEND", "CUDA_VISIBLE_DEVICES", "PYTHONHASHSEED", "VIRTUAL_ENV"}


@dataclass
class Job:
    lab: str
    student: str
    slug: str
    work_dir: str  # the grader's folder for this submission: job.json, result.json, feedback, models/
    scratch: str  # the kernel's working directory (made by the worker)
    notebook: str | None  # None: nothing to grade (`missing_status`, `missing_reason`)
    notebook_name: str
    missing_reason: str
    missing_status: str
    intake_notes: list
    files: dict  # the submission's other files, by name in the scratch folder
    submission_dir: str  # the grader's copy of the models
    released: str
    gradebook: str  # the gradebook snapshot the sanitizing preprocessors read
    config: dict  # the lab's config (`labconfig.LabConfig.to_json()`)
    max_score: float
    cell_timeout: float
    limits: dict  # the kernel's (`cnnlab.grading.sandbox`)
    isolation: str
    mpl_cache: str
    jail: dict  # `jail.Jail.to_json()`
    model_timeout: float
    model_work: str
    data_dir: str | None
    quick: bool
    env: dict  # the worker's environment while it grades this job
    result: str  # where the worker writes its `GradingResult`
    feedback_html: str
    autograded: str
    reference: str | None  # the batch's reference values of the probed tests

    def to_json(self):
        return asdict(self)

    @classmethod
    def from_json(cls, data):
        return cls(**data)


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
    protected = [str(options.out.resolve()), str(options.source.resolve()), str(setup["submissions_root"]),
                 str(setup["private_root"])]
    if options.data_dir:
        protected.append(str(Path(options.data_dir).resolve()))
    # CPU seconds: a backstop behind the wall clock, which a kernel with several threads may use faster
    limits = {"memory_mb": options.memory_mb, "cpu_s": int(options.timeout * (os.cpu_count() or 1)) + 10, "file_mb": 1024,
              "processes": options.processes, "protected": protected, "writable": [str(private)]}
    _kernelspec(private / "jupyter", setup["jail"], limits, private, scratch)
    # the kernel sees an allow-list of the instructor's environment (no tokens, no credentials), plus its own
    env = {k: v for k, v in os.environ.items()
           if k in KERNEL_ENV or k.startswith(("LC_", "OMP_", "MKL_", "TF_", "XLA_", "JAX_"))}
    env.update({"CNNLAB_GRADING": "1", "CNNLAB_QUICK": "1" if options.quick else "0", "TF_CPP_MIN_LOG_LEVEL": "3",
                "PYTHONWARNINGS": "ignore", "PYTHONDONTWRITEBYTECODE": "1", "HOME": str(scratch),
                "MPLCONFIGDIR": str(scratch / ".mpl"), "TMPDIR": str(tmp), "IPYTHONDIR": str(private / "ipython"),
                "JUPYTER_PATH": str(private / "jupyter"), "JUPYTER_RUNTIME_DIR": str(runtime),
                "JUPYTER_CONFIG_DIR": str(private / "jupyter-config"), "JUPYTER_PLATFORM_DIRS": "1",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))})
    job = Job(lab=options.lab, student=submission.student, slug=submission.slug, work_dir=str(work),
              scratch=str(scratch), notebook=str(submission.notebook) if submission.notebook else None,
              notebook_name=setup["config"].notebook, missing_reason=submission.missing_reason,
              missing_status=submission.status.value, intake_notes=submission.notes,
              files={name: str(path) for name, path in submission.files.items()},
              submission_dir=str(work / "models"), released=str(setup["released"]), gradebook=str(setup["snapshot"]),
              config=setup["config"].to_json(), max_score=setup["max_score"], cell_timeout=options.cell_timeout,
              limits=limits, isolation=setup["isolation"], mpl_cache=str(setup["mpl"]),
              jail=setup["jail"].to_json(), model_timeout=options.model_timeout,
              model_work=str(options.out / ".work" / options.lab / "jail"),
              data_dir=str(options.data_dir) if options.data_dir else None, quick=options.quick, env=env,
              result=str(work / "result.json"), feedback_html=str(work / "feedback.html"),
              autograded=str(work / "autograded.ipynb"), reference=setup["reference"])
    (work / "models").mkdir()
    for name, path in submission.files.items():  # the grader's own copy of the models: the kernel cannot touch it
        shutil.copy(path, work / "models" / name)
    (work / "job.json").write_text(json.dumps(job.to_json(), indent=1))
    return work / "job.json", private


def _kernelspec(directory, jail, limits, private, scratch):
    """The kernelspec of a submission's kernel: the jail, `cnnlab.grading.sandbox`'s limits, then ipykernel."""
    spec = directory / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "cnnlab.grading.sandbox", "--limits", json.dumps(limits), "--",
            sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    argv = jails.command(jail, argv, writable=[private], cwd=scratch)
    # interrupts as a message: the kernel signals itself (a signal to bwrap would not reach it, in its own session)
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "cnnlab sandbox", "language": "python",
                                                  "interrupt_mode": "message"}))
