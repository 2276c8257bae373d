"""A batch's settings, and the one place their defaults live (`cnnlab grade`'s options read them from here)."""

from dataclasses import dataclass
from pathlib import Path

from cnnlab.grading.errors import GradingError
from cnnlab.grading.intake.discover import DEFAULT_ID_PATTERN
from cnnlab.grading.paths import ROOT


@dataclass
class Options:
    lab: str
    submissions: Path
    out: Path
    workers: int = 1
    timeout: float = 600
    cell_timeout: float = 120  # the CLI's default is min(this, --timeout)
    memory_mb: int = 8192
    processes: int = 1024  # processes and threads of one jail (RLIMIT_NPROC): TensorFlow starts ~100 threads
    model_timeout: float = 300  # seconds per model check (its jail: load, count, predict)
    unsafe_no_sandbox: bool = False  # grade without the jail when the machine has none (the results say so)
    quick: bool = False
    source: Path = ROOT / "solutions"
    config_dir: Path = ROOT / "autograder" / "labs"
    data_dir: Path | None = None
    shard: tuple = (0, 1)
    id_pattern: str = DEFAULT_ID_PATTERN
    regrade: bool = False
    verbose: bool = True
    lms: str | None = None  # the download's layout (canvas, moodle, gradescope, blackboard, folders); None: detected
    roster: Path | None = None  # the LMS's export of the class (`intake.roster`)
    course_file: Path = ROOT / "autograder" / "course.toml"  # due dates, late policy, extensions (`course.term`)
    overrides: Path | None = None  # the overrides file; None: course.toml's [grading] overrides
    student: str | None = None  # grade this student again (by LMS id), keep the others' results
    releases: Path = ROOT / "autograder" / "releases"  # the lab's published releases (`course.releases`)

    def __post_init__(self):
        if self.workers < 1:
            raise GradingError(f"--workers needs 1 or more. Received: {self.workers}")


def log(options, message):
    if options.verbose:
        print(message, flush=True)
