#!/bin/sh
# Runs one libFuzzer target over its seed corpus (see docs/development.md).
#
#   run.sh TARGET SEEDS CORPUS CRASHES [libFuzzer options...]
#
# CORPUS is where the run keeps what it finds: libFuzzer writes new inputs into the first corpus directory it is
# given. `make test` (ctest) passes directories in the build tree, emptied here first (LT_FUZZ_FRESH=1), so that
# every run starts from the seeds alone and does the same work; `make fuzz` passes .fuzz/corpus/<target>, kept
# between runs.
# A crash is saved as CRASHES/crash-<sha1> (or leak-, timeout-, oom-), and printed as the command that replays it.
set -eu
target=$1 seeds=$2 corpus=$3 crashes=$4
shift 4
name=$(basename "$target")
case "${LT_FUZZ_FRESH:-0}" in 1) rm -rf "$corpus" "$crashes" ;; esac
mkdir -p "$corpus" "$crashes"
# A dictionary made with the seeds (make_seeds.py) names the tokens of structured inputs: tags, keys, header lines.
dict=""
[ -f "$seeds.dict" ] && dict="-dict=$seeds.dict"
status=0
"$target" -artifact_prefix="$crashes/" -print_final_stats=1 $dict "$@" "$corpus" "$seeds" || status=$?
[ "$status" -eq 0 ] && exit 0
echo "$name: failed (exit $status). What it found is in $crashes/:" >&2
ls -1 "$crashes" >&2 || true
echo "Replay one with: $target $crashes/<file>; to keep it as a regression see docs/development.md." >&2
exit "$status"
