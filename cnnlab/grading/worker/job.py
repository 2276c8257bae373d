"""The record the batch hands to a worker process for one submission (`job.json`): everything the worker needs,
as plain data. `cnnlab.grading.batch.jobs.make_job` writes it; `cnnlab.grading.worker.main` reads it."""

from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Job:
    lab: str
    student: str
    slug: str
    work_dir: str  # the grader's folder for this submission: job.json, result.json, feedback, models/
    private_root: str  # where the worker's kernel server makes its folders (`cnnlab.grading.jail.kernels`)
    notebook: str | None  # None: nothing to grade (`missing_status`, `missing_reason`)
    notebook_name: str
    missing_reason: str
    missing_status: str
    intake_notes: list[str]
    files: dict[str, str]  # the submission's other files, by name in the kernel's folder
    submission_dir: str  # the grader's copy of the models
    released: str
    gradebook: str  # the gradebook snapshot the sanitizing preprocessors read
    config: dict  # the lab's config (`labconfig.LabConfig.to_json()`)
    max_score: float
    cell_timeout: float
    limits: dict  # the kernel's (`cnnlab.grading.jail._inside`); its server adds its folders as the writable ones
    isolation: str
    mpl_cache: str
    jail: dict  # `jail.Jail.to_json()`
    model_timeout: float
    model_work: str
    data_dir: str | None
    quick: bool
    result: str  # where the worker writes its `GradingResult`
    feedback_html: str
    autograded: str
    reference: str | None  # the batch's index of the probed tests (`cnnlab.grading.probes.reference`)
    probe_seed: str  # this submission's seed of its probes' inputs (`cnnlab.grading.secret`; "" in the warm-up)
    images_seed: int  # this batch's seed of the model checks' changed test images
    releases: list[dict] = field(default_factory=list)  # the lab's kept releases (`course.releases.for_job`)

    def to_json(self):
        return asdict(self)

    @classmethod
    def from_json(cls, data):
        return cls(**data)


def reference_check_path(warm_up):
    """Where a worker's check of the reference (`worker.main.check_reference`) of the warm-up `warm_up` writes its
    outcome: beside it."""
    return Path(warm_up).parent / "reference-check.json"
