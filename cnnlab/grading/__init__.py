"""The autograder: `cnnlab grade` / `python -m autograder` grades a class's lab notebooks in bubblewrap jails.

A submission flows through the folders in this order; an import only points down this list's trust boundary:

    cli.py       the commands                                                            (the batch's process)
    batch/       one lab's batch: options, the worker processes, a job per submission      (the batch's process)
    intake/      what is graded: LMS downloads, archives, student ids                      (the batch's process)
    course/      the nbgrader course and each lab's config                                 (the batch's process)
    worker/      one submission, one step a module: read, restore, plan, execute, score,   (a worker process)
                 diagnose, feedback
    probes/      probed tests: the kernel side (`_kernel`, `_stand_ins`), the grader's       (both)
                 judge, the stand-ins' `channel`, the reference (`reference`, and
                 `reference_kernel` with `reference_side` inside it: the solution,
                 trusted), `wire` between them
    modelcheck/  saved models: inspection, the jailed model server (`server`, `_probe`),   (both)
                 checks on `images` changed for each batch, a worker's session
    jail/        bubblewrap (`bwrap`), the one policy for untrusted code (`policy`), the     (both)
                 grader's reads of jailed files (`files`), the layer inside (`_inside`)
    results/     a result, statuses, what is kept in --out: store, gradebook, report       (the batch's process)

`secret.py` holds the grader's secret (in `--out`, never in a jail) and the seeds drawn from it: each submission's
probe inputs, each batch's changed test images.

A module whose name starts with `_` runs under the student's control, inside a jail: the kernel's side of a probe
(`probes._kernel`, `probes._stand_ins`), the jail's inner layer (`jail._inside`) and the model server
(`modelcheck._probe`). Nothing there decides a score; the grader reads what they write as untrusted data.
"""
