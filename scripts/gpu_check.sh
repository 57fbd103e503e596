#!/usr/bin/env bash
# The GPU path end to end (see scripts/gpu_check.py); extra arguments go to the python script.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
exec "$PYTHON" scripts/gpu_check.py "$@"
