#!/usr/bin/env bash
# Runs a command in a session (autogroup) of its own that has this shell's niceness, for the
# benches that are not shell scripts themselves (big-queue-blocking.ts, memory-goals.ts):
#
#   flock /work/bench.lock nice -n -20 bench/lib/in-own-autogroup.sh node --expose-gc --import tsx bench/big-queue-blocking.ts
#
# Why: with kernel.sched_autogroup_enabled=1 a plain `nice -n -20` only counts against the
# processes of one's own session (bench/lib/own-autogroup.sh); on the shared machine a bench
# run holding the lock then still got preempted by other sessions' builds and tests for tens
# of ms at a time, and those pauses showed up as the bench's event-loop stalls.
. "$(dirname "$0")/own-autogroup.sh"
exec "$@"
