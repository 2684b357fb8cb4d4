#!/usr/bin/env bash
# The benchmark runs of the 2026-12-02 session, one after another on an idle machine:
# CPU segmentation paths (issue 14), the 1,000-case fuzz run (issue 13), batch
# throughput (issue 11), fine-tuning on an unseen instrument (issue 10).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
LOG=${LOG:-/tmp/session_bench}
mkdir -p "$LOG"
$PY benchmarks/bench_segment.py paths --paths current,fused-cl,onnx > "$LOG/segment.log" 2>&1; echo "segment rc=$?"
$PY benchmarks/fuzz_files.py > "$LOG/fuzz.log" 2>&1; echo "fuzz rc=$?"
$PY benchmarks/bench_batch.py --count 6 --shape 32,256,256 > "$LOG/batch.log" 2>&1; echo "batch rc=$?"
$PY benchmarks/finetune_new_profile.py --minutes 4 > "$LOG/finetune.log" 2>&1; echo "finetune rc=$?"
