#!/usr/bin/env bash
# Integration suite: sharded sweeps on a real single-node Slurm 22.05 cluster, and the Kubernetes Indexed Job contract.
#
#   tests/integration/slurm/run.sh          # as root on Debian 12 (installs slurm, munge, sqlite3, python3-yaml if missing)
#
# Starts the cluster with slurm-local.sh (beside this file), stops it on every exit path, builds the CLI once and puts an
# `sna` wrapper on PATH. Then it submits the project's own deploy/slurm/sweep.sbatch and merge.sbatch unchanged, with only
# environment overrides (the bundled demo model, a task file written here, a small grid), and compares every merge with a
# single-process run of the same definition, table by table with SQL EXCEPT (exact REAL comparison: bit for bit).
# Prints "N passed, N failed" and exits non-zero when a check fails. KEEP=1 keeps the work directory.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
T0=$(date +%s)
WORK=$(mktemp -d /tmp/sna-slurm-it.XXXXXX)
passed=0; failed=0; JOBS=()

say() { printf '[%4ss] %s\n' "$(( $(date +%s) - T0 ))" "$*"; }
ok() { passed=$((passed + 1)); say "PASS $*"; }
bad() { failed=$((failed + 1)); say "FAIL $*"; }

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ ${#JOBS[@]} -gt 0 ] && command -v scancel >/dev/null; then
    scancel "${JOBS[@]}" 2>/dev/null
    for _ in $(seq 60); do [ -z "$(squeue -h -j "$(IFS=,; echo "${JOBS[*]}")" 2>/dev/null)" ] && break; sleep 0.5; done
  fi
  bash "$HERE/slurm-local.sh" stop || true
  if [ "${KEEP:-0}" = 1 ] || [ "$failed" -gt 0 ]; then
    if [ "$failed" -gt 0 ]; then
      for f in "$WORK"/*/*.out; do [ -e "$f" ] && { echo "--- $f"; tail -n 5 "$f"; }; done
    fi
    [ "${KEEP:-0}" = 1 ] && echo "work directory kept: $WORK" || rm -rf "$WORK"
  else
    rm -rf "$WORK"
  fi
  say "wall time $(( $(date +%s) - T0 )) s, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "$passed passed, $failed failed"
  [ "$rc" -eq 0 ] && [ "$failed" -eq 0 ] && exit 0
  exit 1
}
trap cleanup EXIT
trap 'say "interrupted"; failed=$((failed + 1)); exit 130' INT TERM

# ---------------------------------------------------------------------------------------------------------------------
# Setup: packages, cluster, CLI.
need=()
command -v sqlite3 >/dev/null || need+=(sqlite3)
/usr/bin/python3 -c 'import yaml' 2>/dev/null || need+=(python3-yaml)
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]}"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null) \
    || { bad "setup: could not install ${need[*]}"; exit 1; }
fi
say "starting the Slurm cluster"
bash "$HERE/slurm-local.sh" start || { bad "setup: the Slurm cluster did not start"; exit 1; }
say "cluster up: $(sinfo -h -o '%P %D nodes, %c CPUs, %T')"

say "building the CLI"
dotnet build "$REPO/src/Sna.Cli" -c Release -nologo -clp:ErrorsOnly -v q >"$WORK/build.log" 2>&1 \
  || { cat "$WORK/build.log"; bad "setup: dotnet build src/Sna.Cli failed"; exit 1; }
DLL=$(ls "$REPO"/src/Sna.Cli/bin/Release/net*/sna.dll | head -n 1)
mkdir -p "$WORK/bin" "$WORK/home"
printf '#!/bin/sh\nexec dotnet %q "$@"\n' "$DLL" >"$WORK/bin/sna"
chmod +x "$WORK/bin/sna"
# A slow node for the interrupt and requeue tests: the same sna, paused (SIGSTOP) nine tenths of the time, so that a shard
# is caught mid-run however fast the sweep has become (a shard of this grid takes under a second; a test that raced it
# failed once the sweep got faster). Pausing a process changes none of its results.
mkdir -p "$WORK/slowbin"
cat >"$WORK/slowbin/sna" <<SLOW
#!/bin/bash
$(printf %q "$WORK/bin/sna") "\$@" &   # the wrapper above (it execs dotnet: same pid)
pid=\$!
stop=
trap 'stop=1; kill -CONT \$pid 2>/dev/null; kill -TERM \$pid 2>/dev/null' TERM INT
# While \$WORK/freeze-<array job>_<task> exists, the process stays paused (the interrupt tests look at it frozen).
freeze=$(printf %q "$WORK")/freeze-\${SLURM_ARRAY_JOB_ID:-x}_\${SLURM_ARRAY_TASK_ID:-x}
while [ -z "\$stop" ] && kill -0 \$pid 2>/dev/null; do
  kill -STOP \$pid 2>/dev/null; sleep 0.09
  while [ -z "\$stop" ] && [ -e "\$freeze" ]; do sleep 0.05; done
  kill -CONT \$pid 2>/dev/null; sleep 0.01
done
wait \$pid; rc=\$?
while kill -0 \$pid 2>/dev/null; do wait \$pid; rc=\$?; done
exit \$rc
SLOW
chmod +x "$WORK/slowbin/sna"
# Jobs inherit this environment (sbatch --export=ALL is the default): the wrapper, and nothing under the real home.
export PATH="$WORK/bin:$PATH" HOME="$WORK/home" SNA_CACHE_DIR="$WORK/cache" HF_HOME="$WORK/hf" \
       DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 NO_COLOR=1 TERM=dumb

# The sweep definition every run below shares (sbatch environment overrides; the single-process reference uses the same).
# The task is a researcher's own file, written here (not a built-in): 24 sums in a phrasing no built-in task uses.
mkdir -p "$WORK/tasks"
/usr/bin/python3 - "$WORK/tasks/my-sums.json" <<'PY'
import json, sys
pairs = [(a, b) for a in range(1, 7) for b in (2, 3, 5, 6)]
task = {"name": "my-sums", "description": "Written by the Slurm integration suite: 'The sum of a and b is' -> ' a+b'.",
        "prompts": [{"text": f"The sum of {a} and {b} is", "target": f" {a + b}"} for a, b in pairs]}
json.dump(task, open(sys.argv[1], "w"), indent=1)
PY
export MODEL="$REPO/models/sna-demo-gpt2" TASKS="$WORK/tasks/my-sums.json" SWEEP_NAME="slurm-it" \
       LAYERS=all COUNTS=3,5 MULTIPLIERS=1.1:2.4:12 POSITIONS=all NEURON_SOURCE=differential
SBATCH="$REPO/deploy/slurm/sweep.sbatch"
MERGE="$REPO/deploy/slurm/merge.sbatch"

sweep_args() { echo --model "$MODEL" --tasks "$TASKS" --name "$SWEEP_NAME" --layers "$LAYERS" --counts "$COUNTS" \
                      --multipliers "$MULTIPLIERS" --positions "$POSITIONS" --neuron-source "$NEURON_SOURCE"; }

say "single-process reference run"
# shellcheck disable=SC2046
sna sweep $(sweep_args) --threads 1 --db "$WORK/single.db" >"$WORK/single.log" 2>&1 \
  || { tail -n 20 "$WORK/single.log"; bad "setup: the single-process sweep failed"; exit 1; }
q() { sqlite3 -readonly "$1" "$2"; }
ROWS=$(q "$WORK/single.db" "SELECT COUNT(*) FROM results")
CONFIGS=$(q "$WORK/single.db" "SELECT COUNT(*) FROM configs")
PROMPTS=$(q "$WORK/single.db" "SELECT COUNT(*) FROM prompts")
say "reference: $CONFIGS configurations × $PROMPTS prompts = $ROWS rows ($(grep -o 'done:.*s →' "$WORK/single.log"))"
[ "$ROWS" -eq $((CONFIGS * PROMPTS)) ] && [ "$ROWS" -gt 0 ] || { bad "setup: reference run is incomplete"; exit 1; }

# ---------------------------------------------------------------------------------------------------------------------
# Helpers.

# submit DIR SBATCH-ARGS... : sbatch from DIR (the submit directory holds the logs and results/), prints the job id.
submit() {
  local dir=$1; shift
  mkdir -p "$dir"
  local jid
  jid=$(cd "$dir" && OUT=results sbatch --parsable "$@") || return 1
  jid=${jid%%;*}
  JOBS+=("$jid")
  echo "$jid"
}
# wait_gone JOBID [SECONDS]: polls squeue until the job (every array task) has left the queue. No accounting daemon here.
wait_gone() {
  local deadline=$(( $(date +%s) + ${2:-900} ))
  while [ -n "$(squeue -h -j "$1" 2>/dev/null)" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || { say "job $1 still queued after ${2:-900} s"; return 1; }
    sleep 1
  done
}
# states JOBID: "task:STATE:exit" per array task (or "-:STATE:exit" for a plain job), from slurmctld's memory of finished jobs.
states() {
  scontrol -o show job "$1" 2>/dev/null | sed -E 's/.*ArrayTaskId=([^ ]+).*JobState=([A-Z_]+).*ExitCode=([0-9:]+).*/\1:\2:\3/;
                                                  t; s/.*JobState=([A-Z_]+).*ExitCode=([0-9:]+).*/-:\1:\2/' | sort
}
rows() { q "$1" "SELECT COUNT(*) FROM results"; }
# same_as_single DB: every table of DB equals the single-process run's, both ways, and the definition hash matches.
same_as_single() {
  local db=$1 t diff
  [ -f "$db" ] || { say "  $db does not exist"; return 1; }
  [ "$(q "$db" 'SELECT definition_hash FROM sweep')" = "$(q "$WORK/single.db" 'SELECT definition_hash FROM sweep')" ] \
    || { say "  $db: definition hash differs"; return 1; }
  for t in results prompts neurons configs; do
    diff=$(sqlite3 -readonly "$db" "ATTACH '$WORK/single.db' AS s;
      SELECT (SELECT COUNT(*) FROM (SELECT * FROM main.$t EXCEPT SELECT * FROM s.$t)),
             (SELECT COUNT(*) FROM (SELECT * FROM s.$t EXCEPT SELECT * FROM main.$t)),
             (SELECT COUNT(*) FROM main.$t), (SELECT COUNT(*) FROM s.$t);")
    IFS='|' read -r a b n m <<<"$diff"
    [ "$a" = 0 ] && [ "$b" = 0 ] && [ "$n" = "$m" ] || { say "  $db: table $t differs (only here $a, only in single $b, rows $n vs $m)"; return 1; }
  done
}
# shard_of DB: the shard(s) the database recorded, e.g. "1/3".
shard_of() { q "$1" "SELECT DISTINCT shard_index || '/' || shard_count FROM shards ORDER BY 1" | paste -sd' '; }
# owned DB I N: every stored configuration of DB belongs to shard I of N.
owned() { [ "$(q "$1" "SELECT COUNT(*) FROM results WHERE config_id % $3 != $2")" = 0 ]; }
# running JOBID_TASK DB: wait until that array task is running and has committed at least one batch to DB.
wait_partial() {
  local deadline=$(( $(date +%s) + 600 )) n
  while [ "$(date +%s)" -lt "$deadline" ]; do
    if [ -n "$(squeue -h -t R -j "$1" 2>/dev/null)" ] && [ -f "$2" ]; then
      n=$(q "$2" "SELECT COUNT(*) FROM results" 2>/dev/null || echo 0)
      [ "${n:-0}" -gt 0 ] && return 0
    fi
    [ -z "$(squeue -h -j "$1" 2>/dev/null)" ] && { say "  $1 left the queue before it could be interrupted"; return 1; }
    sleep 0.2
  done
  return 1
}
SHARD_ROWS=$((ROWS / 3))   # the grid's 144 configurations split evenly: 48 per shard

# ---------------------------------------------------------------------------------------------------------------------
say "submitting: array 0-2 (+ dependent merge) and array 1-3 (+ dependent merge)"
A=$(submit "$WORK/a" --array=0-2 "$SBATCH") || { bad "sbatch --array=0-2 failed"; exit 1; }
AM=$(submit "$WORK/a" --dependency=afterok:"$A" "$MERGE") || { bad "sbatch merge failed"; exit 1; }
B=$(submit "$WORK/b" --array=1-3 "$SBATCH") || { bad "sbatch --array=1-3 failed"; exit 1; }
BM=$(submit "$WORK/b" --dependency=afterok:"$B" "$MERGE") || { bad "sbatch merge failed"; exit 1; }
ta=$(date +%s); wait_gone "$A"; say "array $A done after $(( $(date +%s) - ta )) s: $(states "$A" | paste -sd' ')"

# 1. An array of 3 shards completes; each task ran its own shard (--shard auto saw the array variables).
c1() {
  local s i
  s=$(states "$A" | paste -sd' ')
  [ "$s" = "0:COMPLETED:0:0 1:COMPLETED:0:0 2:COMPLETED:0:0" ] || { say "  states: $s"; return 1; }
  for i in 0 1 2; do
    local db="$WORK/a/results/shard-$i.db"
    [ "$(shard_of "$db")" = "$i/3" ] || { say "  shard-$i.db recorded shard '$(shard_of "$db")'"; return 1; }
    owned "$db" "$i" 3 || { say "  shard-$i.db holds configurations of another shard"; return 1; }
    [ "$(rows "$db")" = "$SHARD_ROWS" ] || { say "  shard-$i.db has $(rows "$db") rows, expected $SHARD_ROWS"; return 1; }
  done
  grep -h 'done:' "$WORK"/a/sna-sweep-"$A"_*.out | sed 's/^/  /'
}
c1 && ok "1. sbatch --array=0-2 deploy/slurm/sweep.sbatch: 3 tasks COMPLETED, shard i/3 each, $SHARD_ROWS rows each" \
   || bad "1. array of 3 shards"

# 2. The dependent merge job equals the single-process run bit for bit.
c2() {
  wait_gone "$AM" || return 1
  [ "$(states "$AM")" = "-:COMPLETED:0:0" ] || { say "  merge job: $(states "$AM")"; cat "$WORK"/a/sna-merge-*.out; return 1; }
  sed 's/^/  /' "$WORK"/a/sna-merge-"$AM".out
  grep -q duplicate "$WORK"/a/sna-merge-"$AM".out && { say "  the shards overlapped"; return 1; }
  same_as_single "$WORK/a/results/sweep.db"
}
c2 && ok "2. sbatch --dependency=afterok:$A deploy/slurm/merge.sbatch: merged = single process ($ROWS rows, every table)" \
   || bad "2. dependent merge equals the single-process run"

# 3. Shard files are self-contained when the tasks end: copy only shard-*.db elsewhere and merge there.
c3() {
  mkdir -p "$WORK/a-copy"
  cp "$WORK"/a/results/shard-*.db "$WORK/a-copy/"
  sna merge --out "$WORK/a-copy/sweep.db" "$WORK"/a-copy/shard-*.db >"$WORK/a-copy/merge.log" 2>&1 || { cat "$WORK/a-copy/merge.log"; return 1; }
  same_as_single "$WORK/a-copy/sweep.db"
}
c3 && ok "3. only shard-*.db copied to another directory and merged there = single process" \
   || bad "3. shard databases self-contained after the tasks ended"

# 4. --array=1-3 (not zero-based): tasks 1..3 are shards 0/3..2/3, and the merge equals the single run.
c4() {
  wait_gone "$B" && wait_gone "$BM" || return 1
  local s i
  s=$(states "$B" | paste -sd' ')
  [ "$s" = "1:COMPLETED:0:0 2:COMPLETED:0:0 3:COMPLETED:0:0" ] || { say "  states: $s"; return 1; }
  for i in 1 2 3; do
    [ "$(shard_of "$WORK/b/results/shard-$i.db")" = "$((i - 1))/3" ] || { say "  shard-$i.db recorded '$(shard_of "$WORK/b/results/shard-$i.db")'"; return 1; }
  done
  [ "$(states "$BM")" = "-:COMPLETED:0:0" ] || { say "  merge job: $(states "$BM")"; return 1; }
  same_as_single "$WORK/b/results/sweep.db"
}
c4 && ok "4. sbatch --array=1-3: tasks 1,2,3 ran shards 0/3,1/3,2/3; merged = single process" \
   || bad "4. non-zero-based array"

# ---------------------------------------------------------------------------------------------------------------------
say "submitting array 0-2 on the slow node to interrupt: task 1 cancelled (scancel), task 0 killed (SIGKILL)"
C=$(PATH="$WORK/slowbin:$PATH" submit "$WORK/c" --array=0-2 "$SBATCH") || { bad "sbatch failed"; exit 1; }
CDB="$WORK/c/results"

# 7. scancel one array index mid-run, resubmit that index alone: it resumes with no lost or duplicated rows.
c5_kill() {
  wait_partial "${C}_1" "$CDB/shard-1.db" || return 1
  scancel "${C}_1" || return 1
  say "  scancel ${C}_1 after $(rows "$CDB/shard-1.db") of $SHARD_ROWS rows"
}
# 5. SIGKILL (a node or OOM kill: no chance to clean up). The store checkpoints its WAL before any result, after the first
#    results commit, every 2 s and at a run's end (docs/sweeps.md): merge must refuse the killed shard while its -wal is
#    pending, and the .db copied alone must be a sound database of this sweep holding a subset of the committed rows, value
#    for value. The slow node's wrapper freezes task 0 (a freeze file: the process stays SIGSTOPped), and the task is
#    killed only in a state that tests both halves: a copy of its .db alone holds results, and the committed rows (read
#    through the -wal) outnumber them, so the -wal is pending. Otherwise it is thawed and looked at again. (A reader sees a
#    commit before the checkpoint after it completes: a kill in that window leaves a .db with no results, which
#    WalCheckpointTests covers.) Results never reaching the .db of a running job fail the check.
main_rows() {   # results in a copy of the .db file alone (no -wal), as cp takes it off a node; -1 if unreadable
  local probe="$WORK/probe-$$.db" n
  rm -f "$probe" "$probe-wal" "$probe-shm"
  cp "$1" "$probe" 2>/dev/null || { echo -1; return; }
  n=$(sqlite3 "$probe" "SELECT COUNT(*) FROM results" 2>/dev/null) || n=-1
  rm -f "$probe" "$probe-wal" "$probe-shm"
  echo "${n:--1}"
}
c6_kill() {
  wait_partial "${C}_0" "$CDB/shard-0.db" || return 1
  local deadline=$(( $(date +%s) + 120 )) r=-1 m=-1 freeze="$WORK/freeze-${C}_0"
  while :; do
    [ -n "$(squeue -h -t R -j "${C}_0" 2>/dev/null)" ] || { rm -f "$freeze"; say "  ${C}_0 ended before it could be killed with a pending -wal"; return 1; }
    [ "$(date +%s)" -lt "$deadline" ] || { rm -f "$freeze"; say "  after 120 s the running job's .db alone held $m results of $r committed"; return 1; }
    touch "$freeze"; sleep 0.3                            # the wrapper's next pause lasts until the file goes
    r=$(rows "$CDB/shard-0.db" 2>/dev/null) || r=-1       # committed, through the -wal (the writer is stopped)
    m=$(main_rows "$CDB/shard-0.db")                      # in the .db file alone
    if [ "${m:--1}" -gt 0 ] && [ "${r:--1}" -gt "$m" ]; then
      scancel --signal=KILL --full "${C}_0" || { rm -f "$freeze"; return 1; }   # SIGKILL ends a stopped process
      rm -f "$freeze"
      say "  scancel --signal=KILL --full ${C}_0 (frozen) after $r rows, $m of them in the .db alone"
      return 0
    fi
    rm -f "$freeze"; sleep 0.3
  done
}
c5_kill; k5=$?
c6_kill; k6=$?
wait_gone "$C"
say "array $C: $(states "$C" | paste -sd' ')"

c6() {
  [ "$k6" = 0 ] || return 1
  mkdir -p "$WORK/c-copy"
  cp "$CDB/shard-0.db" "$WORK/c-copy/"          # the .db alone, as copying shard-*.db takes it
  local wal=0 committed copied extra
  [ -e "$CDB/shard-0.db-wal" ] && wal=$(stat -c %s "$CDB/shard-0.db-wal")
  committed=$(rows "$CDB/shard-0.db")          # read-only, through the WAL if there is one
  [ "${committed:-0}" -gt 0 ] && [ "$committed" -lt "$SHARD_ROWS" ] || { say "  not interrupted mid-run ($committed rows)"; return 1; }
  [ "$wal" -gt 0 ] || { say "  the killed shard left no pending -wal (killed right after a checkpoint?)"; return 1; }
  local rc=0
  sna merge --out "$WORK/c-copy/refused.db" "$CDB/shard-0.db" >"$WORK/c-copy/refuse.log" 2>&1 || rc=$?
  # A refusal is an input error (exit 2) that names the pending journal; any other exit (a crash is 70) is not one.
  [ "$rc" = 2 ] && grep -q "pending journal" "$WORK/c-copy/refuse.log" \
    || { say "  merge of shard-0.db with a pending -wal of $wal bytes: exit $rc, not the refusal ($(tail -n 1 "$WORK/c-copy/refuse.log" | cut -c1-150))"; return 1; }
  say "  merge refused the killed shard ($wal-byte -wal): $(grep -m1 -i 'wal' "$WORK/c-copy/refuse.log" | cut -c1-150)"
  sna merge --out "$WORK/c-copy/sweep.db" "$WORK/c-copy/shard-0.db" >"$WORK/c-copy/merge.log" 2>&1 \
    || { say "  merge of the copied .db failed: $(tail -n 1 "$WORK/c-copy/merge.log")"; return 1; }
  IFS='|' read -r copied extra <<<"$(sqlite3 -readonly "$WORK/c-copy/sweep.db" "ATTACH '$CDB/shard-0.db' AS o;
    SELECT (SELECT COUNT(*) FROM main.results), (SELECT COUNT(*) FROM (SELECT * FROM main.results EXCEPT SELECT * FROM o.results));")"
  say "  after SIGKILL: $committed rows committed; the .db copied alone merges to $copied of them (checkpointed), $extra others"
  [ "$copied" -gt 0 ] && [ "$copied" -lt "$committed" ] && [ "$extra" = 0 ]
}
c6 && ok "5. SIGKILLed task: merge refuses its pending -wal; shard-0.db copied alone merges to a sound subset of the committed rows" \
   || bad "5. shard database self-contained after SIGKILL"

before0=$(rows "$CDB/shard-0.db"); before1=$(rows "$CDB/shard-1.db")
# A single index resubmitted without SHARD is an array of one (--shard auto = 0/1): its database must refuse it.
c5_wrong() {
  local j; j=$(submit "$WORK/c" --array=1 "$SBATCH") || return 1
  wait_gone "$j" || return 1
  [[ "$(states "$j")" == 1:FAILED:* ]] || { say "  sbatch --array=1 without SHARD: $(states "$j")"; return 1; }
  grep -q "holds results of shard 1/3; this run is shard 0/1" "$WORK/c/sna-sweep-${j}_1.out" \
    || { say "  no refusal in the log: $(tail -n 2 "$WORK/c/sna-sweep-${j}_1.out")"; return 1; }
  [ "$(rows "$CDB/shard-1.db")" = "$before1" ] || { say "  shard-1.db changed: $(rows "$CDB/shard-1.db") rows"; return 1; }
  say "  $(grep -o 'holds results of shard.*' "$WORK/c/sna-sweep-${j}_1.out" | head -n 1)"
}
c5_wrong && ok "6. sbatch --array=1 alone without SHARD (= shard 0/1) is refused by shard-1.db, which is left unchanged" \
         || bad "6. a single index resubmitted without SHARD is refused"

say "resubmitting tasks 0 and 1 alone: sbatch --array=I --export=ALL,SHARD=I/3"
C0=$(cd "$WORK/c" && OUT=results SHARD=0/3 sbatch --parsable --array=0 --export=ALL "$SBATCH"); JOBS+=("$C0")
C1=$(cd "$WORK/c" && OUT=results SHARD=1/3 sbatch --parsable --array=1 --export=ALL "$SBATCH"); JOBS+=("$C1")
CM=$(submit "$WORK/c" --dependency=afterok:"$C0":"$C1" "$MERGE")
wait_gone "$C0"; wait_gone "$C1"; wait_gone "$CM"

c5() {
  [ "$k5" = 0 ] || return 1
  local s log
  s=$(states "$C" | grep '^1:')
  [[ "$s" == 1:CANCELLED:* ]] || { say "  task 1 ended as $s"; return 1; }
  [ "$before1" -gt 0 ] && [ "$before1" -lt "$SHARD_ROWS" ] || { say "  task 1 was not interrupted mid-run ($before1 rows)"; return 1; }
  [ "$(states "$C1")" = "1:COMPLETED:0:0" ] || { say "  resubmitted task: $(states "$C1")"; return 1; }
  log="$WORK/c/sna-sweep-${C1}_1.out"
  grep -q "done: $((SHARD_ROWS - before1)) rows written, $before1 already stored" "$log" \
    || { say "  resubmitted task did not resume exactly: $(grep 'done:' "$log")"; return 1; }
  [ "$(shard_of "$CDB/shard-1.db")" = "1/3" ] && owned "$CDB/shard-1.db" 1 3 && [ "$(rows "$CDB/shard-1.db")" = "$SHARD_ROWS" ] \
    || { say "  shard-1.db: shards '$(shard_of "$CDB/shard-1.db")', $(rows "$CDB/shard-1.db") rows"; return 1; }
  [ "$(states "$CM")" = "-:COMPLETED:0:0" ] || { say "  merge job: $(states "$CM")"; return 1; }
  grep -q duplicate "$WORK/c/sna-merge-$CM.out" && { say "  duplicated rows"; return 1; }
  same_as_single "$CDB/sweep.db"
}
c5 && ok "7. scancel ${C}_1 mid-run ($before1/$SHARD_ROWS rows), resubmitted alone: resumed ($((SHARD_ROWS - before1)) written, $before1 skipped), merged = single process" \
   || bad "7. cancelled task resubmitted resumes with no lost or duplicated rows"

# The SIGKILLed task resumed too.
c6b() {
  [ "$(states "$C0")" = "0:COMPLETED:0:0" ] || { say "  resubmitted task 0: $(states "$C0")"; return 1; }
  grep -q "done: $((SHARD_ROWS - before0)) rows written, $before0 already stored" "$WORK/c/sna-sweep-${C0}_0.out" \
    || { say "  task 0 did not resume exactly: $(grep 'done:' "$WORK/c/sna-sweep-${C0}_0.out")"; return 1; }
  # Resumed to the end, the killed shard's file is complete on its own again: copy only shard-*.db and merge elsewhere.
  mkdir -p "$WORK/c-copy2"
  cp "$CDB"/shard-*.db "$WORK/c-copy2/"
  sna merge --out "$WORK/c-copy2/sweep.db" "$WORK"/c-copy2/shard-*.db >"$WORK/c-copy2/merge.log" 2>&1 || { cat "$WORK/c-copy2/merge.log"; return 1; }
  same_as_single "$WORK/c-copy2/sweep.db"
}
c6b && ok "8. SIGKILLed task 0 resubmitted alone: resumed ($((SHARD_ROWS - before0)) written, $before0 skipped); shard-*.db copied alone merge = single process" \
    || bad "8. SIGKILLed task resumes"

# ---------------------------------------------------------------------------------------------------------------------
# 9. scontrol requeue of a running task: it restarts (SLURM_RESTART_COUNT=1) and resumes its database.
say "submitting array 0-2 on the slow node to requeue task 2 mid-run"
D=$(PATH="$WORK/slowbin:$PATH" submit "$WORK/d" --array=0-2 "$SBATCH")
DM=$(submit "$WORK/d" --dependency=afterok:"$D" "$MERGE")
c8() {
  wait_partial "${D}_2" "$WORK/d/results/shard-2.db" || return 1
  local n; n=$(rows "$WORK/d/results/shard-2.db")
  scontrol requeue "${D}_2" || return 1
  say "  scontrol requeue ${D}_2 after $n rows"
  wait_gone "$D" && wait_gone "$DM" || return 1
  local s; s=$(states "$D" | paste -sd' ')
  [ "$s" = "0:COMPLETED:0:0 1:COMPLETED:0:0 2:COMPLETED:0:0" ] || { say "  states: $s"; return 1; }
  scontrol -o show job "${D}_2" | grep -q 'Restarts=1' || { say "  task 2 was not restarted"; return 1; }
  grep -q "restart 1" "$WORK/d/sna-sweep-${D}_2.out" || { say "  task 2's log shows no restart"; return 1; }
  [ "$(q "$WORK/d/results/shard-2.db" 'SELECT COUNT(*) FROM shards')" = 2 ] || { say "  shard-2.db records $(q "$WORK/d/results/shard-2.db" 'SELECT COUNT(*) FROM shards') runs"; return 1; }
  grep -q "already stored" "$WORK/d/sna-sweep-${D}_2.out" && ! grep -q " 0 already stored" "$WORK/d/sna-sweep-${D}_2.out" \
    || { say "  task 2 did not resume: $(grep 'done:' "$WORK/d/sna-sweep-${D}_2.out")"; return 1; }
  [ "$(states "$DM")" = "-:COMPLETED:0:0" ] || { say "  merge job: $(states "$DM")"; return 1; }
  same_as_single "$WORK/d/results/sweep.db"
}
c8 && ok "9. scontrol requeue ${D}_2 mid-run: restarted, resumed, merged = single process" \
   || bad "9. requeue"

# ---------------------------------------------------------------------------------------------------------------------
# 10. Kubernetes Indexed Job: run the container command of deploy/k8s/sweep-job.yaml once per completion index with the
#    pod's environment (the manifest's env, overridden like the sbatch runs, plus JOB_COMPLETION_INDEX as Kubernetes sets it).
c9() {
  local spec n i pids=() shell cmd
  spec=$(/usr/bin/python3 - "$REPO/deploy/k8s/sweep-job.yaml" <<'PY'
import sys, shlex, yaml
job = yaml.safe_load(open(sys.argv[1]))
assert job["kind"] == "Job" and job["spec"]["completionMode"] == "Indexed", "not an Indexed Job"
n = job["spec"]["completions"]
c = job["spec"]["template"]["spec"]["containers"][0]
env = {e["name"]: e["value"] for e in c.get("env", [])}
assert env.get("SNA_SHARD_COUNT") == str(n), f"SNA_SHARD_COUNT {env.get('SNA_SHARD_COUNT')} != completions {n}"
print(n)
print(shlex.join(c["command"]))
print(c["args"][0])
for k, v in env.items(): print(f"{k}={v}")
PY
) || { say "  could not read the manifest"; return 1; }
  n=$(sed -n 1p <<<"$spec"); shell=$(sed -n 2p <<<"$spec"); cmd=$(sed -n 3p <<<"$spec")
  local -a podenv; mapfile -t podenv < <(sed -n '4,$p' <<<"$spec")
  mkdir -p "$WORK/k8s/results"
  say "  $n completions, command: $shell '$cmd'"
  for ((i = 0; i < n; i++)); do
    # The manifest's env, then the overrides (model, tasks, grid, volume path), then what Kubernetes adds.
    env "${podenv[@]}" MODEL="$MODEL" TASKS="$TASKS" SWEEP_NAME="$SWEEP_NAME" LAYERS="$LAYERS" COUNTS="$COUNTS" \
        MULTIPLIERS="$MULTIPLIERS" POSITIONS="$POSITIONS" OUT="$WORK/k8s/results" JOB_COMPLETION_INDEX="$i" \
        HOSTNAME="sna-sweep-$i-abcde" \
        /bin/sh -c "$cmd" >"$WORK/k8s/pod-$i.log" 2>&1 &
    pids+=($!)
    if [ ${#pids[@]} -ge 2 ]; then wait "${pids[0]}" || { say "  pod ${i} failed"; tail -n 5 "$WORK/k8s/pod-$((i - 1)).log"; return 1; }; pids=("${pids[@]:1}"); fi
  done
  for p in "${pids[@]}"; do wait "$p" || { say "  a pod failed"; return 1; }; done
  for ((i = 0; i < n; i++)); do
    [ "$(shard_of "$WORK/k8s/results/shard-$i.db")" = "$i/$n" ] || { say "  shard-$i.db recorded '$(shard_of "$WORK/k8s/results/shard-$i.db")'"; return 1; }
  done
  sna merge --out "$WORK/k8s/results/sweep.db" "$WORK"/k8s/results/shard-*.db >"$WORK/k8s/merge.log" 2>&1 || { cat "$WORK/k8s/merge.log"; return 1; }
  same_as_single "$WORK/k8s/results/sweep.db"
}
c9 && ok "10. deploy/k8s/sweep-job.yaml: every completion index with JOB_COMPLETION_INDEX ran shard i/completions; merged = single process" \
   || bad "10. Kubernetes Indexed Job contract"
