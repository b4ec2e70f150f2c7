# A one-node Slurm cluster on 127.0.0.1 for the tests, in a folder of its
# own: munged on a private socket, slurmctld and slurmd with a generated
# slurm.conf (no cgroups: these machines have none; no accounting). Source
# this file, then:
#   slurm_start DIR   start the daemons in DIR, export SLURM_CONF, wait for
#                     the node to be idle (bounded; the daemons' logs are
#                     printed if it never is)
#   slurm_stop        cancel every job, stop the daemons by PID (also run
#                     on any exit once slurm_start has begun)
# Needs Debian's slurmctld, slurmd, slurm-client and munge (scripts/setup.sh
# installs them) and root, as the daemons run as the user that starts them.

SLURM_DIR=""
SLURM_PIDS=()

# A TCP port nothing listens on, from a range tests do not otherwise use.
slurm_free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  echo "slurm_cluster: no free port found" >&2
  return 1
}

# The PID in a daemon's pid file, waiting for the file to appear.
slurm_read_pid() {  # slurm_read_pid FILE NAME
  for _ in $(seq 1 100); do
    if [[ -s $1 ]]; then
      cat "$1"
      return 0
    fi
    sleep 0.1
  done
  echo "slurm_cluster: $2 wrote no pid file ($1)" >&2
  return 1
}

# Waits until no job is queued or running; false after SECONDS.
# slurm_wait_idle SECONDS: until the queue is empty. Empty means squeue
# answered and listed nothing: a squeue that fails (slurmctld busy under
# load) prints nothing too, and must not pass for an empty queue.
slurm_wait_idle() {
  local queue
  for _ in $(seq 1 $(($1 * 5))); do
    queue=$(squeue -h 2>/dev/null) && [[ -z $queue ]] && return 0
    sleep 0.2
  done
  return 1
}

slurm_logs() {
  local log
  for log in "$SLURM_DIR"/*.log; do
    [[ -f $log ]] || continue
    echo "----- $log" >&2
    tail -n 30 "$log" >&2
  done
}

slurm_start() {  # slurm_start DIR
  SLURM_DIR=$(realpath -m "$1")
  mkdir -p "$SLURM_DIR/state" "$SLURM_DIR/spool"
  trap slurm_stop EXIT
  local host memory ctld_port slurmd_port
  host=$(hostname -s)
  # Below the real memory: above it the node is drained and never idle.
  memory=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 ))
  ctld_port=$(slurm_free_port) || return 1
  slurmd_port=$(slurm_free_port) || return 1
  while [[ $slurmd_port == "$ctld_port" ]]; do slurmd_port=$(slurm_free_port) || return 1; done

  dd if=/dev/urandom of="$SLURM_DIR/munge.key" bs=1024 count=1 status=none
  chmod 400 "$SLURM_DIR/munge.key"
  munged --force --key-file="$SLURM_DIR/munge.key" --socket="$SLURM_DIR/munge.socket" \
    --pid-file="$SLURM_DIR/munged.pid" --log-file="$SLURM_DIR/munged.log" \
    --seed-file="$SLURM_DIR/munge.seed" || { slurm_logs; return 1; }
  SLURM_PIDS+=("$(slurm_read_pid "$SLURM_DIR/munged.pid" munged)") || return 1

  cat > "$SLURM_DIR/slurm.conf" <<EOF
ClusterName=zootest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=$(id -un)
SlurmdUser=$(id -un)
AuthType=auth/munge
AuthInfo=socket=$SLURM_DIR/munge.socket
CredType=cred/munge
StateSaveLocation=$SLURM_DIR/state
SlurmdSpoolDir=$SLURM_DIR/spool
SlurmctldPidFile=$SLURM_DIR/slurmctld.pid
SlurmdPidFile=$SLURM_DIR/slurmd.pid
SlurmctldLogFile=$SLURM_DIR/slurmctld.log
SlurmdLogFile=$SLURM_DIR/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
MinJobAge=5
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
NodeName=$host NodeAddr=127.0.0.1 CPUs=2 RealMemory=$memory State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF=$SLURM_DIR/slurm.conf
  # The daemons delete their pid files when they stop: read each PID now.
  slurmctld -f "$SLURM_CONF" || { slurm_logs; return 1; }
  SLURM_PIDS+=("$(slurm_read_pid "$SLURM_DIR/slurmctld.pid" slurmctld)") || { slurm_logs; return 1; }
  slurmd -f "$SLURM_CONF" || { slurm_logs; return 1; }
  SLURM_PIDS+=("$(slurm_read_pid "$SLURM_DIR/slurmd.pid" slurmd)") || { slurm_logs; return 1; }

  local state=""
  for _ in $(seq 1 300); do
    state=$(sinfo -h -N -o %T 2>/dev/null | head -n 1)
    [[ $state == idle ]] && return 0
    sleep 0.1
  done
  echo "slurm_cluster: the node is not idle after 30 s (state: ${state:-unknown})" >&2
  slurm_logs
  return 1
}

slurm_stop() {
  [[ -n $SLURM_DIR ]] || return 0
  # Jobs first, so that no task outlives slurmd; then the daemons in the
  # reverse order of their start.
  if [[ -n ${SLURM_CONF:-} ]]; then
    scancel --quiet --full "--user=$(id -un)" 2>/dev/null || true
    for _ in $(seq 1 50); do
      [[ -z $(squeue -h 2>/dev/null) ]] && break
      sleep 0.1
    done
  fi
  local i pid
  for ((i = ${#SLURM_PIDS[@]} - 1; i >= 0; i--)); do
    pid=${SLURM_PIDS[$i]}
    kill "$pid" 2>/dev/null || continue
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  done
  SLURM_PIDS=()
  SLURM_DIR=""
}
