"""The autograder: `cnnlab grade` / `python -m autograder` grades a class's lab notebooks in bubblewrap jails.

A submission flows through these folders; each imports only the folders below it in autograder/DESIGN.md's layers
(tests/grading/test_layout.py checks it):

    cli.py       the commands                                                            (the batch's process)
    batch/       one lab's batch: options, the worker processes, a job per submission      (the batch's process)
    handgrading/ the TA's page for the questions a person grades (`server`, `pages`)      (the TA's server)
    worker/      one submission, one step a module: read, restore, plan, execute, score,   (a worker process)
                 diagnose, feedback
    intake/      what is graded: a module per LMS download, rosters, archives, ids         (the batch's process)
    results/     a result, statuses, the TA's grades (`manual`) and a result's `standing`  (the batch's process)
                 with them, the final grade, what is kept in --out: store, gradebook, the
                 LMS exports (`lms/`), the student's page (`feedback_page`, `refresh`),
                 the class report
    similarity/  the copying report: near-copied answer cells (`code`), model files with    (the batch's process;
                 the same weights (`weights`, read without Keras), the page (`report`)     the worker sketches)
    probes/      probed tests: the kernel side (`_kernel`, `_stand_ins`), the grader's       (both)
                 judge, the stand-ins' `channel`, the reference (`reference`, and
                 `reference_kernel` with `reference_side` inside it: the solution,
                 trusted), `wire` between them
    modelcheck/  saved models: inspection, the jailed model server (`server`, `_probe`),   (both)
                 checks on `images` changed for each batch, a worker's session
    course/      the nbgrader course, each lab's config and the `rubric` of its written    (the batch's process)
                 questions, the term's rules, the releases
    jail/        bubblewrap (`bwrap`), the one policy for untrusted code (`policy`), the     (both)
                 grader's operations in jailed folders (`files`: descriptors, no links), the
                 layer inside (`_inside`), the kernel server (`kernels`, `_kernels`: a
                 fresh kernel forked per submission, its folder layout) and jupyter_client's
                 view of its kernels (`jupyter`), the frames to jailed servers (`frames`)

`secret.py` holds the grader's secret (in `--out`, never in a jail) and the seeds drawn from it: each submission's
probe inputs, each batch's changed test images. `answers.py` keeps a submission's answer cells (what a TA reads and
the copying report compares); `cells.py`, `paths.py` and `errors.py` are shared by all.

A module whose name starts with `_` runs under the student's control, inside a jail: the kernel's side of a probe
(`probes._kernel`, `probes._stand_ins`), the jail's inner layer (`jail._inside`), the kernel server
(`jail._kernels`) and the model server (`modelcheck._probe`). Nothing there decides a score; the grader reads what
they write as untrusted data.
"""
