# Sourced by bench scripts: run the rest of the script in a session of its own and give that
# session's autogroup the script's niceness.
#
# Why: with kernel.sched_autogroup_enabled=1 (the default on most desktops and on this shared
# machine) CPU time is first shared fairly between autogroups (one per session), and a
# process's nice value only counts against processes of its own session. `nice -n -20 bench`
# then gets no more CPU than one nice-0 session of someone else's tests; the same nice on the
# session's autogroup does what the nice meant (both brokers and their clients run in it).
# Needs CAP_SYS_NICE for a negative value; otherwise the script runs as it would have.
if [ -z "${LOCALMQ_OWN_AUTOGROUP:-}" ] && [ -r /proc/self/autogroup ] && command -v setsid >/dev/null; then
  export LOCALMQ_OWN_AUTOGROUP=1
  exec setsid -w "$0" "$@"
fi
if [ -n "${LOCALMQ_OWN_AUTOGROUP:-}" ] && [ -w /proc/self/autogroup ]; then
  echo "$(nice)" >/proc/self/autogroup 2>/dev/null || true
fi
