#!/usr/bin/env bash
# The same lectarch command on every host of a Cloud TPU VM slice (gcloud ... ssh --worker=all).
#
#   launch/tpu_vm.sh [--dry-run] --tpu NAME --zone ZONE [--project PROJECT] [--dir DIR] -- lectarch train ARGS...
#
#   launch/tpu_vm.sh --tpu my-v5e-32 --zone us-west4-a -- lectarch train \
#       --config experiments/configs/mlp_digits.py --workdir gs://my-bucket/runs/x
#
# Every host runs `cd DIR && .venv/bin/lectarch ... --distributed`; JAX finds the slice's hosts by
# itself. DIR (default: lectarch, in the home directory) must hold the repository and its .venv on
# every host, e.g. once: launch/tpu_vm.sh --tpu NAME --zone ZONE -- make install. The workdir
# must be shared by all hosts (a gs:// bucket or a mounted filesystem). --dry-run prints the
# gcloud command instead of running it.
set -euo pipefail

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

tpu="" zone="" project="" dir=lectarch dry_run=${DRY_RUN:-}
while [[ $# -gt 0 ]]; do
  case $1 in
    --tpu) tpu=$2; shift 2 ;;
    --zone) zone=$2; shift 2 ;;
    --project) project=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) usage 0 ;;
    --) shift; break ;;
    *) echo "tpu_vm.sh: unknown option $1 (the command comes after --)" >&2; usage 2 ;;
  esac
done
[[ -n $tpu && -n $zone ]] || { echo "tpu_vm.sh: --tpu and --zone are required" >&2; usage 2; }
[[ $# -gt 0 ]] || { echo "tpu_vm.sh: no command given after --" >&2; usage 2; }

remote=("$@")
if [[ ${remote[0]} == lectarch ]]; then  # the repository's venv, and join the slice
  remote=(.venv/bin/lectarch "${remote[@]:1}" --distributed)
fi
quoted=$(printf '%q ' "${remote[@]}")
remote_line="cd $(printf '%q' "$dir") && ${quoted% }"

cmd=(gcloud compute tpus tpu-vm ssh "$tpu" "--zone=$zone" --worker=all "--command=$remote_line")
[[ -n $project ]] && cmd+=("--project=$project")
if [[ -n $dry_run ]]; then
  printf '%q ' "${cmd[@]}"; echo
  exit 0
fi
exec "${cmd[@]}"
