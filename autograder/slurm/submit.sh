#!/usr/bin/env bash
# Grade one lab of a class on a Slurm cluster: the class in SHARDS slices, a job array whose task i runs
# `grade --shard i/SHARDS` into OUT/shard-<i>, then the merge into OUT, a job that starts once every slice
# succeeded (autograder/README.md, "Grading on a Slurm cluster").
#
#   autograder/slurm/submit.sh LAB SUBMISSIONS OUT [SHARDS] [GRADE OPTION...]
#   e.g. autograder/slurm/submit.sh lab2_first_convnet /shared/class /shared/grading 8 --data /shared/data
#
# This clone (with its .venv), SUBMISSIONS and OUT must be on a filesystem every node sees. Each task grades with
# as many workers as it has CPUs (CNNLAB_CPUS, default 2). sbatch's own options for both jobs: its SBATCH_*
# variables (SBATCH_PARTITION, SBATCH_TIMELIMIT, SBATCH_ACCOUNT...) or CNNLAB_SBATCH="--mem=16G ...". Prints the
# two job ids. When a slice fails (its log in OUT/logs says why), the merge does not run: run the same command
# again, and each slice grades only what it has not kept yet.
set -euo pipefail
if [ $# -lt 3 ]; then
    sed -n '2,14p' "$0" >&2
    exit 2
fi
lab=$1
submissions=$(realpath "$2")
out=$(realpath -m "$3")
shift 3
shards=4
if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then
    shards=$1
    shift
fi
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$out/logs"
export CNNLAB_ROOT="$root" CNNLAB_LAB="$lab" CNNLAB_SUBMISSIONS="$submissions" CNNLAB_OUT="$out"
export CNNLAB_PYTHON="${CNNLAB_PYTHON:-$root/.venv/bin/python}" CNNLAB_GRADE_OPTIONS="$*"
# shellcheck disable=SC2086  # CNNLAB_SBATCH holds several options
grade=$(sbatch --parsable --array="0-$((shards - 1))" --cpus-per-task="${CNNLAB_CPUS:-2}" --job-name="grade-$lab" \
    --chdir="$out" --output="$out/logs/grade-%A_%a.out" ${CNNLAB_SBATCH:-} "$root/autograder/slurm/grade.sbatch")
grade=${grade%%;*}
# shellcheck disable=SC2086
merge=$(sbatch --parsable --dependency="afterok:$grade" --kill-on-invalid-dep=yes --job-name="merge-$lab" \
    --chdir="$out" --output="$out/logs/merge-%j.out" ${CNNLAB_SBATCH:-} "$root/autograder/slurm/merge.sbatch")
echo "grading $lab in $shards slices: job array $grade, then merge job ${merge%%;*} into $out"
