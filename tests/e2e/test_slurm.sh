# Sharded jobs on a real Slurm cluster (one node on 127.0.0.1, started here
# by tests/slurm_cluster.sh): examples/slurm/label.sbatch, the script the
# README shows, submitted as job arrays. The merged outputs must be the
# bytes of one unsharded run (JSON Lines with logits, CSV, NPY and its
# index), for --array=0-3 and 1-4; a task that fails leaves no done marker,
# zoo merge names the missing shard, and resubmitting that index alone
# completes the job; so does a task requeued while it runs (scontrol
# requeue); two arrays on one output at once do not corrupt it.
source "$(dirname "$0")/lib.sh"
source "$ZOO_SOURCE_DIR/tests/slurm_cluster.sh"
for tool in slurmctld slurmd sbatch munged; do
  command -v "$tool" > /dev/null || fail "$tool is not installed (scripts/setup.sh installs Slurm)"
done

# About 300 real images: the opencv-doc pictures three times over, and
# Debian's darknet photos.
mkdir photos
n=0
for copy in 1 2 3; do
  for f in "$PHOTOS"/*.jpg "$PHOTOS"/*.png /usr/share/darknet/data/*.jpg; do
    n=$((n + 1))
    ln -s "$f" "photos/$(printf '%03d' $n)_$(basename "$f")"
  done
done
echo "$n images"
export PATH="$(dirname "$ZOO"):$PATH" MODEL=$WORK/model.yaml PHOTOS=$WORK/photos
script=$ZOO_SOURCE_DIR/examples/slurm/label.sbatch

# The README shows the script as it is, so what users copy is what ran here.
/usr/bin/python3 - "$script" "$ZOO_SOURCE_DIR/README.md" <<'PY' || fail "README.md does not show $script as it is"
import sys
assert "```bash\n" + open(sys.argv[1]).read() + "```" in open(sys.argv[2]).read()
PY

# One unsharded run, the reference (with the sbatch script's settings).
mkdir one
"$ZOO" apply "$MODEL" "$PHOTOS" -o one/labels.jsonl --store-logits --threads 1 --workers 1 -q
"$ZOO" embed "$MODEL" "$PHOTOS" -o one/emb.npy --threads 1 --workers 1 -q
"$ZOO" apply "$MODEL" "$PHOTOS" -o one/labels.csv --top-k 2 --threads 1 --workers 1 -q

slurm_start "$WORK/cluster"

# run OUT ARGS...: submits the script with OUT and waits; the array's
# exit is in OUT/sbatch.exit.
run() {
  local out=$1
  shift
  mkdir -p "$out"
  local code=0
  OUT=$WORK/$out sbatch --wait --chdir="$WORK/$out" "$@" "$script" > "$out/sbatch.txt" 2>&1 || code=$?
  echo "$code" > "$out/sbatch.exit"
}

same_as_one() {  # same_as_one DIR: its merged files are those of one run
  cmp "$1/labels.jsonl" one/labels.jsonl || fail "$1/labels.jsonl differs from one run"
  cmp "$1/emb.npy" one/emb.npy || fail "$1/emb.npy differs from one run"
  cmp "$1/emb.paths.txt" one/emb.paths.txt || fail "$1/emb.paths.txt differs from one run"
}

# --array=0-3, as the script says.
start=$(date +%s.%N)
run a
[[ $(cat a/sbatch.exit) == 0 ]] || { cat a/sbatch.txt a/*.out; fail "sbatch --array=0-3 failed"; }
"$ZOO" merge a/labels.jsonl -q
"$ZOO" merge a/emb.npy -q
same_as_one a
echo "array 0-3: merged outputs equal one run ($(/usr/bin/python3 -c "print(round($(date +%s.%N) - $start, 1))") s)"

# CSV, sharded the same way from sbatch --wrap.
mkdir c
sbatch --wait --array=0-3 --chdir="$WORK/c" --output=/dev/null --wrap \
  "zoo apply $MODEL $PHOTOS -o labels.csv --top-k 2 --shard auto/4 --threads 1 --workers 1 -q" > /dev/null
"$ZOO" merge c/labels.csv -q
cmp c/labels.csv one/labels.csv || fail "merged CSV shards differ from one run"

# --array=1-4: the base stated once.
SHARD_BASE=1 run b --array=1-4
[[ $(cat b/sbatch.exit) == 0 ]] || { cat b/sbatch.txt b/*.out; fail "sbatch --array=1-4 failed"; }
"$ZOO" merge b/labels.jsonl -q
"$ZOO" merge b/emb.npy -q
same_as_one b

# Task 2 fails (its model path is wrong): no done marker, zoo merge names
# shard 2; resubmitted alone (--array=2) it completes the job.
run f --array=0,1,3
MODEL=$WORK/missing.yaml run f --array=2
[[ $(cat f/sbatch.exit) != 0 ]] || fail "a task with a missing model succeeded"
[[ ! -e f/labels.part-2-of-4.jsonl.done ]] || fail "the failed task left a done marker"
expect_exit 1 "$ZOO" merge f/labels.jsonl 2> err.txt
grep -q '1 of 4 shards of .*labels.jsonl are not done: 2' err.txt || fail "zoo merge: $(cat err.txt)"
run f --array=2
[[ $(cat f/sbatch.exit) == 0 ]] || { cat f/sbatch.txt; fail "the resubmitted task failed"; }
"$ZOO" merge f/labels.jsonl -q
"$ZOO" merge f/emb.npy -q
same_as_one f

# scontrol requeue of a running task: Slurm kills it and runs it again; the
# rerun resumes its part, and the job completes. Slurm holds a requeued
# job about two minutes, long after the killed task has exited; here it
# starts as soon as the killed zoo has let go of its part (its lock).
mkdir -p q
job=$(OUT=$WORK/q sbatch --chdir="$WORK/q" --parsable "$script")
for _ in $(seq 1 300); do
  [[ $(squeue -h -j "${job}_2" -o %T 2>/dev/null) == RUNNING ]] && break
  sleep 0.1
done
scontrol requeue "${job}_2" || fail "scontrol requeue ${job}_2"
for _ in $(seq 1 300); do  # the requeue is done once the task is pending again
  [[ $(squeue -h -j "${job}_2" -o %T 2>/dev/null) == PENDING ]] && break
  sleep 0.1
done
# The killed task's zoo can outlive its script: Slurm's process tracking
# without cgroups (proctrack/linuxproc) can miss a child that has just
# started, and that zoo then runs its part to the end. Its part file may not
# exist yet when the locks are looked at, so wait for the process itself:
# a rerun that starts before it has let go finds its part locked and fails.
for _ in $(seq 1 600); do
  pgrep -f -- "-o $WORK/q/" > /dev/null || break
  sleep 0.1
done
for _ in $(seq 1 300); do
  free=1
  for part in q/labels.part-2-of-4.jsonl q/emb.part-2-of-4.npy; do
    [[ ! -e $part ]] || flock -n "$part" true || free=0
  done
  ((free)) && break
  sleep 0.1
done
# Brought forward; the update is refused while the killed task is still
# completing, so it is repeated until the task leaves PENDING.
for _ in $(seq 1 60); do
  scontrol update "JobId=${job}_2" StartTime=now 2> /dev/null || true
  state=$(squeue -h -j "${job}_2" -o %T 2> /dev/null) || { sleep 1; continue; }
  [[ $state == PENDING ]] || break
  sleep 1
done
slurm_wait_idle 120 || fail "the requeued array did not finish in 120 s"
"$ZOO" merge q/labels.jsonl -q || { cat q/*.out; fail "zoo merge after a requeued task"; }
"$ZOO" merge q/emb.npy -q
same_as_one q
echo "requeued task: $(grep -c . q/zoo-label-*_2.out) lines of its log; merged outputs equal one run"

# Two arrays on the same output at once, each running one task at a time
# (%1), so that both work on shard 0, then 1, ... together: each shard is
# done once (a second task on it is refused by the first's lock, or finds it
# done); the merged files are still those of one run.
mkdir -p t
OUT=$WORK/t sbatch --chdir="$WORK/t" --array=0-3%1 --parsable "$script" > t/first.txt
OUT=$WORK/t sbatch --chdir="$WORK/t" --array=0-3%1 --parsable "$script" > t/second.txt
slurm_wait_idle 120 || fail "the two arrays did not finish in 120 s"
"$ZOO" merge t/labels.jsonl -q || { cat t/*.out; fail "zoo merge after two arrays at once"; }
"$ZOO" merge t/emb.npy -q
same_as_one t
refused=$(grep -l "another zoo run is writing this file" t/*.out | wc -l || true)
found_done=$(grep -l "is already done" t/*.out | wc -l || true)
echo "two arrays at once: $refused tasks refused by a lock, $found_done found their shard done; merged outputs equal one run"

slurm_stop
echo ok
