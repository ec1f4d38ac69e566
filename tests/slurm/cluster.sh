#!/usr/bin/env bash
# A one-node Slurm cluster on loopback, for the tests of `job.launcher: slurm`.
#
#   tests/slurm/cluster.sh start    write the configuration, start munged, slurmctld and slurmd
#   tests/slurm/cluster.sh stop     stop them, by the PIDs in their pid files
#   tests/slurm/cluster.sh status   say whether the cluster answers
#   tests/slurm/cluster.sh env      print the environment its clients need (eval it)
#
# Everything lives under $WARDEN_SLURM_DIR (default /tmp/warden-slurm); nothing is written to
# /etc. The daemons run as root, as the slurm-wlm and munge Debian packages install them.
# Partitions: `debug` (the default) and `urgent`, whose higher PriorityTier preempts (cancels)
# the jobs of `debug` it needs the node of, so that preemption can be tested for real.
# No accounting (slurmdbd needs a MySQL server): `sacct` answers nothing here, and ended jobs
# stay in `scontrol show job` for MinJobAge.
set -euo pipefail

dir=${WARDEN_SLURM_DIR:-/tmp/warden-slurm}
conf=$dir/slurm.conf
socket=$dir/munge/munge.socket.2

usage() {
  echo "usage: $0 start|stop|status|env" >&2
  exit 2
}

clients_env() {
  echo "export SLURM_CONF=$conf"
}

answers() {
  SLURM_CONF=$conf timeout 5 sinfo -h -o %T >/dev/null 2>&1
}

node_state() {
  SLURM_CONF=$conf timeout 5 sinfo -h -n localhost -o %T 2>/dev/null | head -n1
}

write_config() {
  mkdir -p "$dir"/{munge,state,spool,log,run}
  chmod 700 "$dir/munge"
  if [ ! -s "$dir/munge/munge.key" ]; then
    dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
    chmod 400 "$dir/munge/munge.key"
  fi
  local cpus memory
  cpus=$(nproc)
  # What the node offers, less some for the system.
  memory=$(awk '/MemTotal/ { m = int($2 / 1024) - 512; if (m < 256) m = 256; print m }' /proc/meminfo)
  cat >"$conf" <<CONF
ClusterName=warden
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/log/jobcomp.txt
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
PreemptType=preempt/partition_prio
PreemptMode=CANCEL
ReturnToService=2
MinJobAge=600
KillWait=5
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=30
MpiDefault=none
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP PriorityTier=1 PreemptMode=CANCEL
PartitionName=urgent Nodes=localhost MaxTime=INFINITE State=UP PriorityTier=10 PreemptMode=OFF
CONF
}

# Signals the daemon whose pid file is $1, if that PID is still the daemon named $2.
stop_daemon() {
  local pidfile=$1 name=$2 pid
  [ -s "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "$name" ]; then
    kill "$pid"
    for _ in $(seq 50); do
      [ -e "/proc/$pid" ] || break
      sleep 0.1
    done
    if [ -e "/proc/$pid" ]; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$pidfile"
}

start() {
  for tool in munged slurmctld slurmd sbatch; do
    command -v "$tool" >/dev/null || {
      echo "$tool not found: apt-get install -y slurm-wlm munge" >&2
      exit 1
    }
  done
  if answers; then
    echo "the cluster is up (SLURM_CONF=$conf)"
    return 0
  fi
  write_config
  if ! [ -S "$socket" ]; then
    munged --force --key-file="$dir/munge/munge.key" --socket="$socket" \
      --pid-file="$dir/run/munged.pid" --log-file="$dir/log/munged.log" \
      --seed-file="$dir/munge/munged.seed"
  fi
  slurmctld -f "$conf"
  slurmd -f "$conf" -N localhost
  for _ in $(seq 100); do
    case "$(node_state)" in
      idle* | mixed* | allocated* | completing* | planned*)
        echo "the cluster is up (SLURM_CONF=$conf)"
        return 0
        ;;
    esac
    sleep 0.2
  done
  echo "the cluster did not come up; see $dir/log" >&2
  exit 1
}

stop() {
  stop_daemon "$dir/run/slurmd.pid" slurmd
  stop_daemon "$dir/run/slurmctld.pid" slurmctld
  stop_daemon "$dir/run/munged.pid" munged
  echo "the cluster is stopped"
}

status() {
  if answers; then
    echo "up: node localhost is $(node_state) (SLURM_CONF=$conf)"
  else
    echo "down: start it with tests/slurm/cluster.sh start"
    exit 1
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) clients_env ;;
  *) usage ;;
esac
