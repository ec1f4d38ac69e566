#!/bin/sh
# usage: sh ../run_cgroup.sh LIMIT_BYTES cmd...   run cmd in a fresh cgroup v1 memory cgroup
# (swap disabled for it), report its status the way a shell does (128+signal), remove the cgroup.
limit=$1; shift
cg=/sys/fs/cgroup/memory/corpus_unseen_$$
mkdir "$cg" || exit 2
echo "$limit" > "$cg/memory.limit_in_bytes"
echo "$limit" > "$cg/memory.memsw.limit_in_bytes" 2>/dev/null
echo 0 > "$cg/memory.swappiness" 2>/dev/null
sh -c 'echo $$ > "$1/cgroup.procs"; shift; exec "$@"' cgwrap "$cg" "$@"
rc=$?
rmdir "$cg"
exit $rc
