"""The autograder: `cnnlab grade` / `python -m autograder` grades a class's lab notebooks in bubblewrap jails.

A submission flows through the folders in this order; an import only points down this list's trust boundary. The
last two serve what people do after grading: `worker` and `results` call them; they use `worker`'s feedback and
answers and `modelcheck`'s inspection, and only the TA's server (`handgrading.server`) imports `course` and `results`:

    cli.py       the commands                                                            (the batch's process)
    batch/       one lab's batch: options, the worker processes, a job per submission      (the batch's process)
    intake/      what is graded: a module per LMS download, rosters, archives, ids         (the batch's process)
    course/      the nbgrader course, each lab's config, the term's rules, the releases    (the batch's process)
    worker/      one submission, one step a module: read, restore, plan, execute, score,   (a worker process)
                 diagnose, feedback
    probes/      probed tests: the kernel side (`_kernel`, `_stand_ins`), the grader's       (both)
                 judge, the stand-ins' `channel`, the reference (`reference`, and
                 `reference_kernel` with `reference_side` inside it: the solution,
                 trusted), `wire` between them
    modelcheck/  saved models: inspection, the jailed model server (`server`, `_probe`),   (both)
                 checks on `images` changed for each batch, a worker's session
    jail/        bubblewrap (`bwrap`), the one policy for untrusted code (`policy`), the     (both)
                 grader's operations in jailed folders (`files`: descriptors, no links), the
                 layer inside (`_inside`), the kernel server (`kernels`, `_kernels`: a
                 fresh kernel forked per submission, its folder layout) and jupyter_client's
                 view of its kernels (`jupyter`), the frames to jailed servers (`frames`)
    results/     a result, statuses, the final grade, what is kept in --out: store,        (the batch's process)
                 gradebook, the LMS exports (`lms/`), feedback grades, report
    handgrading/ the questions a person grades: the TA's grades (`grades`), a result's     (the batch's process,
                 `standing` with them, the `rubric`, the TA's page (`server`, `pages`),    and the TA's server)
                 the feedback they change (`refresh`)
    similarity/  the copying report: near-copied answer cells (`code`), model files with    (the batch's process;
                 the same weights (`weights`, read without Keras), the page (`report`)     the worker sketches)

`secret.py` holds the grader's secret (in `--out`, never in a jail) and the seeds drawn from it: each submission's
probe inputs, each batch's changed test images.

A module whose name starts with `_` runs under the student's control, inside a jail: the kernel's side of a probe
(`probes._kernel`, `probes._stand_ins`), the jail's inner layer (`jail._inside`), the kernel server
(`jail._kernels`) and the model server (`modelcheck._probe`). Nothing there decides a score; the grader reads what
they write as untrusted data.
"""
