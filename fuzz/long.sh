#!/usr/bin/env bash
# A long fuzzing session: every target for an hour (or $1 seconds), both cores.
# Crashes land in fuzz/artifacts/<target>/; copy each into
# fuzz/regressions/<target>/ with a name that says what it broke, and fix it.
exec env IKC_FUZZ_JOBS="${IKC_FUZZ_JOBS:-2}" bash "$(dirname "$0")/run.sh" "${1:-3600}"
