#!/usr/bin/env bash
# A real single-node Slurm 22.05 cluster on this machine (Debian packages, no systemd): start | test | stop.
# start installs slurmctld/slurmd/munge if missing, writes /etc/slurm/slurm.conf (NodeName=localhost, CPUs=$(nproc)),
# starts munged, slurmctld and slurmd, and waits until the node is idle (about 15 s on a fresh machine).
# AuthInfo cred_expire=10 (default 120) lets a requeued job start again after 10 s instead of two minutes.
# stop ends the daemons by PID file. No accounting: poll `squeue -h -j JOBID` until empty instead of sacct.
set -euo pipefail
S=/tmp/slurm; PIDS="$S/slurmd.pid $S/slurmctld.pid /run/munge/munged.pid"
stop() { for p in $PIDS; do [ -s "$p" ] || continue; pid=$(cat "$p")
           kill "$pid" 2>/dev/null || true
           for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
           rm -f "$p"; done; }
start() {
  if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      slurmctld slurmd slurm-client munge >/dev/null
  fi
  stop; rm -rf "$S"; mkdir -p "$S/state" "$S/spool"
  [ -s /etc/munge/munge.key ] || runuser -u munge -- mungekey --create --keyfile=/etc/munge/munge.key
  chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key
  install -d -o munge -g munge -m 755 /run/munge
  cat > /etc/slurm/slurm.conf <<CONF
ClusterName=ci
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
AuthInfo=cred_expire=10
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmdParameters=config_overrides
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/slurmctld.log
SlurmdLogFile=$S/slurmd.log
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
  runuser -u munge -- /usr/sbin/munged
  /usr/sbin/slurmctld
  /usr/sbin/slurmd -N localhost
  for _ in $(seq 60); do sinfo -h -o %T 2>/dev/null | grep -qx idle && return 0; sleep 0.5; done
  echo "slurm did not come up" >&2; tail -n 20 "$S"/*.log >&2; return 1
}
test_array() {
  rm -rf /tmp/slurmtest/out.*; mkdir -p /tmp/slurmtest
  jid=$(sbatch --parsable --array=0-2 -o /dev/null --wrap \
    'echo $SLURM_ARRAY_TASK_ID $SLURM_ARRAY_TASK_COUNT > /tmp/slurmtest/out.$SLURM_ARRAY_TASK_ID')
  for _ in $(seq 120); do [ -z "$(squeue -h -j "$jid")" ] && break; sleep 0.5; done
  for i in 0 1 2; do [ "$(cat /tmp/slurmtest/out.$i)" = "$i 3" ] || { echo "FAIL task $i" >&2; exit 1; }; done
  echo "slurm array test passed"
}
case "${1:-start}" in start) start;; stop) stop;; test) test_array;; esac
