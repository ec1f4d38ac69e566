#!/usr/bin/env bash
# Instructions per iteration of the machine and classifier benchmarks, under callgrind: the
# steady measure on a machine whose timings move by a third between runs (docs/benchmarks.md).
#
# Usage: bash engine/benches/instructions.sh [WHAT...]
#   WHAT: step render incident classify-json classify-plain classify-heavy feed-heavy
#   (default: all)
#
# Each WHAT is run for N iterations and for 0, and (total(N) - total(0)) / N is printed: the
# setup, the same in both runs, cancels out.
set -euo pipefail

cd "$(dirname "$0")/../.."

command -v valgrind >/dev/null || { echo "error: valgrind is not installed" >&2; exit 2; }

# The release build of benches/instructions.rs; cargo names the executable it built.
bin=$(cargo bench -p warden --bench instructions --no-run --message-format=json \
    | grep '"name":"instructions"' \
    | grep -o '"executable":"[^"]*"' \
    | tail -n 1 \
    | sed 's/^"executable":"\(.*\)"$/\1/')
if [[ -z "$bin" || ! -x "$bin" ]]; then
    echo "error: cargo did not name the instructions benchmark's executable" >&2
    exit 2
fi

iterations() {
    case "$1" in
        step) echo 20000 ;;
        render | incident) echo 2000 ;;
        classify-json | classify-plain | classify-heavy | feed-heavy) echo 50000 ;;
        *) echo "error: unknown benchmark $1" >&2; return 2 ;;
    esac
}

# The instructions callgrind collected over one run of the program.
collected() {
    local out
    out=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 >/dev/null) || {
        echo "$out" >&2
        echo "error: $1 $2 failed under valgrind" >&2
        return 2
    }
    echo "$out" | sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' | tail -n 1
}

whats=("$@")
if [[ ${#whats[@]} -eq 0 ]]; then
    whats=(step render incident classify-json classify-plain classify-heavy feed-heavy)
fi

for what in "${whats[@]}"; do
    n=$(iterations "$what")
    base=$(collected "$what" 0)
    total=$(collected "$what" "$n")
    if [[ -z "$base" || -z "$total" ]]; then
        echo "error: no instruction count in callgrind's output for $what" >&2
        exit 2
    fi
    echo "$what: $(( (total - base) / n )) instructions per iteration ($n iterations: $total - $base)"
done
