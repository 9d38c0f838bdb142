#!/usr/bin/env bash
# N processes of one lectarch command on this machine, joined into one JAX program.
#
#   launch/local.sh [--dry-run] [-n N] [--port PORT] [--cpu | --gpus-per-process G] -- COMMAND...
#
#   launch/local.sh -n 2 --cpu -- lectarch train --config experiments/configs/mlp_digits.py --workdir runs/mp
#
# Process i runs `COMMAND --distributed --coordinator localhost:PORT --num-processes N --process-id i`.
# --cpu: every process computes on its CPU (JAX_PLATFORMS=cpu; collectives over gloo), handy to try
# multi-host code on a laptop. --gpus-per-process G: process i sees GPUs i*G .. i*G+G-1 (the
# default with nvidia-smi present, G=1). Output lines are prefixed with [i]. If one process fails,
# the others are stopped. --dry-run prints the commands instead of running them.
set -euo pipefail

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

n=2 port=${PORT:-12355} dry_run=${DRY_RUN:-} mode=auto gpus=1
while [[ $# -gt 0 ]]; do
  case $1 in
    -n|--num-processes) n=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --cpu) mode=cpu; shift ;;
    --gpus-per-process) mode=gpu gpus=$2; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) usage 0 ;;
    --) shift; break ;;
    *) echo "local.sh: unknown option $1 (the command comes after --)" >&2; usage 2 ;;
  esac
done
[[ $# -gt 0 ]] || { echo "local.sh: no command given after --" >&2; usage 2; }
if [[ $mode == auto ]]; then
  if command -v nvidia-smi >/dev/null 2>&1; then mode=gpu; else mode=cpu; fi
fi

process_env() {  # the environment of process $1, as NAME=VALUE words
  if [[ $mode == cpu ]]; then
    echo "JAX_PLATFORMS=cpu"
  else
    local first=$(($1 * gpus)) ids="" g
    for ((g = first; g < first + gpus; g++)); do ids+="${ids:+,}$g"; done
    echo "CUDA_VISIBLE_DEVICES=$ids"
  fi
}

pids=()
stop_all() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap stop_all INT TERM

for ((i = 0; i < n; i++)); do
  cmd=("$@" --distributed --coordinator "localhost:$port" --num-processes "$n" --process-id "$i")
  read -r -a envs <<<"$(process_env "$i")"
  if [[ -n $dry_run ]]; then
    printf '%s ' "${envs[@]}"; printf '%q ' "${cmd[@]}"; echo
    continue
  fi
  ( set -o pipefail; env "${envs[@]}" "${cmd[@]}" 2>&1 | sed -u "s/^/[$i] /" ) &
  pids+=("$!")
done
[[ -n $dry_run ]] && exit 0

status=0
for _ in "${pids[@]}"; do
  if ! wait -n; then status=1; stop_all; fi
done
exit "$status"
