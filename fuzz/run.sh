#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 30): replays its committed
# regressions first, then fuzzes from a temp copy of its committed corpus (new
# inputs are not kept; see README.md to merge them). One line per target.
# Exits non-zero if any target crashed, naming the crashing input.
#   bash fuzz/run.sh [SECONDS]     IKC_FUZZ_JOBS=N  targets run N at a time (default 1)
#   IKC_SECURITY_LOG=FILE          also append one row and one figure per target (npm run security)
#   IKC_FUZZ_TARGETS="a b"         only these targets
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-30}"
jobs="${IKC_FUZZ_JOBS:-1}"
[[ "$seconds" =~ ^[0-9]+$ && "$seconds" -gt 0 ]] || { echo "usage: fuzz/run.sh [SECONDS]" >&2; exit 2; }

# cargo-fuzz needs nightly compiler features: a nightly toolchain if rustup has
# one, else stable with RUSTC_BOOTSTRAP=1.
if command -v rustup >/dev/null && rustup toolchain list | grep -q '^nightly'; then
  cargo=(cargo +nightly)
  toolchain=nightly
else
  export RUSTC_BOOTSTRAP=1
  cargo=(cargo)
  toolchain="stable (RUSTC_BOOTSTRAP=1)"
fi
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
if ! cargo fuzz --version >/dev/null 2>&1; then
  t0=$SECONDS
  echo "fuzz: installing cargo-fuzz"
  cargo install cargo-fuzz --locked --quiet
  echo "fuzz: cargo-fuzz installed in $((SECONDS - t0)) s"
fi

# No sanitizer: the decoders are safe Rust (no `unsafe` in netlink/, task_diag/,
# net request parsing or broker/protocol.rs), so ASan would only slow them.
# Debug assertions on: an arithmetic overflow is a panic here, as in a debug build.
build=(fuzz build --sanitizer none --debug-assertions)
t0=$SECONDS
"${cargo[@]}" "${build[@]}" >build.log 2>&1 || { cat build.log >&2; echo "fuzz: build failed ($toolchain)" >&2; exit 1; }
echo "fuzz: built the targets with $toolchain in $((SECONDS - t0)) s"
rm -f build.log
triple="$(rustc -vV | sed -n 's/^host: //p')"
bin="target/$triple/release"

targets=(${IKC_FUZZ_TARGETS:-$(ls fuzz_targets | sed 's/\.rs$//')})
results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT

# One target: regressions, then SECONDS of fuzzing. Writes "$results/$t".
fuzz_one() {
  local t="$1" work artifacts log status execs
  work="$(mktemp -d)"
  artifacts="$PWD/artifacts/$t"
  log="$artifacts/fuzz.log"
  mkdir -p "$artifacts" "$work/corpus"
  if [ -d "regressions/$t" ] && [ -n "$(ls -A "regressions/$t")" ]; then
    if ! "$bin/$t" "regressions/$t"/* >"$log" 2>&1; then
      local input
      input="$(sed -n 's/^Running: //p' "$log" | tail -1)"
      echo "crash|0|a regression input crashes again: fuzz/${input:-regressions/$t} (log: fuzz/artifacts/$t/fuzz.log)" >"$results/$t"
      rm -rf "$work"
      return
    fi
  fi
  [ -d "corpus/$t" ] && cp -r "corpus/$t"/. "$work/corpus/"
  status=0
  "$bin/$t" "$work/corpus" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$artifacts/" >"$log" 2>&1 || status=$?
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  execs="${execs:-0}"
  if [ "$status" -eq 0 ]; then
    echo "ok|$execs|no crash" >"$results/$t"
  else
    local input
    input="$(sed -n "s/.*Test unit written to //p" "$log" | tail -1)"
    echo "crash|$execs|crashed (exit $status): input ${input:-not written} (log: fuzz/artifacts/$t/fuzz.log)" >"$results/$t"
  fi
  rm -rf "$work"
}

running=0
for t in "${targets[@]}"; do
  [ -x "$bin/$t" ] || { echo "fuzz: no target $t" >&2; exit 2; }
  fuzz_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait

failed=0
for t in "${targets[@]}"; do
  IFS='|' read -r result execs detail <"$results/$t" 2>/dev/null || { result=crash execs=0 detail="the runner itself failed"; }
  rate=$((execs / seconds))
  printf 'fuzz %-18s %10s execs in %ss (%s/s): %s\n' "$t" "$execs" "$seconds" "$rate" "$detail"
  [ "$result" = ok ] || failed=$((failed + 1))
  if [ -n "${IKC_SECURITY_LOG:-}" ]; then
    pass=$([ "$result" = ok ] && echo true || echo false)
    observed=$([ "$result" = ok ] && echo "no crash in $execs execs" || echo "crash after $execs execs")
    printf '{"kind":"row","id":"F","scenario":"fuzz %s for %ss","expected":"no crash","observed":"%s","pass":%s}\n' \
      "$t" "$seconds" "$observed" "$pass" >>"$IKC_SECURITY_LOG"
    printf '{"kind":"figure","name":"fuzz %s","value":"%s executions in %ss"}\n' "$t" "$execs" "$seconds" >>"$IKC_SECURITY_LOG"
  fi
done
echo "fuzz: $(( ${#targets[@]} - failed )) of ${#targets[@]} targets ran without a crash"
[ "$failed" -eq 0 ]
