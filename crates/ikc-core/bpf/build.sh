#!/usr/bin/env bash
# Rebuilds task_iter.bpf.o, the BPF object that backend/bpf.rs embeds, from
# task_iter.bpf.c. The object is committed, so users and `cargo build` never
# need clang; CI runs `build.sh --check` to prove it matches its source.
#
# Needs (Debian 12 packages): clang (clang 14, which the committed object was
# built with: another clang version gives other bytes), llvm (llvm-strip),
# libbpf-dev (bpf/bpf_helpers.h, bpf/bpf_core_read.h).
#
# Deterministic: no kernel headers or vmlinux.h from the build machine (the
# kernel types are declared in the source, resolved at load time through the
# running kernel's BTF), relative paths only, DWARF stripped (BTF and CO-RE
# relocations kept).
#
#   bash build.sh           rebuild task_iter.bpf.o
#   bash build.sh --check   rebuild into a temporary file; fail if it differs
set -euo pipefail
cd "$(dirname "$0")"

CLANG=${CLANG:-clang}
STRIP=${LLVM_STRIP:-llvm-strip}
out=task_iter.bpf.o
[ "${1:-}" = --check ] && out=$(mktemp --suffix=.bpf.o) && trap 'rm -f "$out"' EXIT

"$CLANG" -target bpfel -O2 -g -Wall -Werror -std=gnu11 \
  -fdebug-prefix-map="$PWD"=. -fdebug-compilation-dir=. \
  -c task_iter.bpf.c -o "$out"
# Drop DWARF (it names the build directory); .BTF and .BTF.ext stay.
"$STRIP" -g "$out"

if [ "${1:-}" = --check ]; then
  if ! cmp -s "$out" task_iter.bpf.o; then
    echo "crates/ikc-core/bpf/task_iter.bpf.o is stale or was built by another clang:" >&2
    echo "  $("$CLANG" --version | head -1)" >&2
    echo "run 'bash crates/ikc-core/bpf/build.sh' and commit the object" >&2
    exit 1
  fi
  echo "task_iter.bpf.o is up to date"
fi
