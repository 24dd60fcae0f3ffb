#!/usr/bin/env bash
# Short fuzzing pass for CI: each cargo-fuzz target (or those in FUZZ_TARGETS) for FUZZ_SECONDS (default 60) from the
# committed seed corpus. Needs the nightly toolchain; skipped (success) without it. Installs
# cargo-fuzz when missing. A crash fails the run and leaves the input in
# fuzz/artifacts/<target>/ (reproduce: cargo +nightly fuzz run <target> <file>).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SECONDS_PER_TARGET=${FUZZ_SECONDS:-60}

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  echo "fuzz: no nightly toolchain, skipped"
  exit 0
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

cd "$HERE"
# FUZZ_TARGETS (default: every target) picks targets: the DynamoDB ones build the whole
# server crate under nightly, the RESP one only the protocol crate.
targets=${FUZZ_TARGETS:-$(cargo +nightly fuzz list)}
features=()
case " $targets " in *" ddb_"*) ;; *) features=(--no-default-features) ;; esac
for target in $targets; do
  work=$(mktemp -d)
  echo "--- fuzz $target (${SECONDS_PER_TARGET}s)"
  # New inputs go to a scratch corpus; the committed seeds stay as they are.
  # Sanitizer off: the code fuzzed is safe Rust, and this keeps CI builds and runs fast;
  # panics, overflow checks and debug assertions still abort.
  if ! cargo +nightly fuzz run -s none "${features[@]}" "$target" "$work" "corpus/$target" -- \
    -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 2>&1 | tail -n 15; then
    rm -rf "$work"
    echo "fuzz $target FAILED"
    exit 1
  fi
  rm -rf "$work"
done
echo "fuzz: all targets passed"
