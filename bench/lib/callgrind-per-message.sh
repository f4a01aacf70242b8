#!/usr/bin/env bash
# Ir per message from a callgrind dump: in all, the JIT compiler's and the GC's (by symbol), and the
# rest (the repeatable part: JIT compilation and a major GC may or may not fall in a window).
#   bench/lib/callgrind-per-message.sh CALLGRIND_OUT MESSAGES LABEL
set -euo pipefail
callgrind_annotate --threshold=100 --inclusive=no "$1" 2>/dev/null | sed -n '/file:function/,$p' | awk -v n="$2" -v l="$3" '
  /^ *[0-9,]+ / { v = $1; gsub(",", "", v); t += v
    if ($0 ~ /compiler::|Compile|Turbofan|Maglev|turboshaft|Pipeline|OptimizedCompilation|InstructionSelector|RegisterAllocator|Scheduler|LiveRange|BytecodeGenerator|Parser|Scanner/) c += v
    else if ($0 ~ /Marking|Sweep|Scaveng|Heap::|Evacuat|MarkCompact|Ephemeron|RememberedSet|GCTracer|Compactor/) g += v }
  END { printf "%s: %d Ir/msg in all; JIT %d, GC %d; without them %d\n", l, t / n, c / n, g / n, (t - c - g) / n }'
