#!/usr/bin/env bash
# Which JAX build this machine wants; prints cuda12, tpu or cpu (make install/run/test use it for ACCEL).
#
#   launch/detect_accel.sh
#
# cuda12: an NVIDIA driver is present (nvidia-smi on the PATH, or /proc/driver/nvidia/version).
# tpu: a Cloud TPU VM (/dev/accel* devices, or /dev/vfio with one of the TPU VM's variables
# TPU_ACCELERATOR_TYPE, TPU_WORKER_ID, TPU_WORKER_HOSTNAMES, TPU_SKIP_MDS_QUERY, CLOUD_TPU_TASK_ID).
# cpu: anything else. The same rules as lectarch/runtime/hardware.py. DETECT_ROOT (default: /)
# puts the file system it looks at somewhere else, for tests.
set -euo pipefail

root=${DETECT_ROOT:-}
if command -v nvidia-smi >/dev/null 2>&1 || [[ -e $root/proc/driver/nvidia/version ]]; then
  echo cuda12
  exit 0
fi
shopt -s nullglob
accel=("$root"/dev/accel*)
if ((${#accel[@]} > 0)); then
  echo tpu
  exit 0
fi
if [[ -d $root/dev/vfio ]]; then
  for var in TPU_ACCELERATOR_TYPE TPU_WORKER_ID TPU_WORKER_HOSTNAMES TPU_SKIP_MDS_QUERY CLOUD_TPU_TASK_ID; do
    if [[ -n ${!var+set} ]]; then
      echo tpu
      exit 0
    fi
  done
fi
echo cpu
