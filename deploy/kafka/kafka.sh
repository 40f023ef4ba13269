#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Local Kafka (KRaft) for the demo and the tests, from the same
# server.properties template and the same steps (lib.sh) as the EC2 bootstrap.
#
#   kafka.sh up [--nodes 1|3] | down [--wipe] | status | logs [N] | env
#
# Environment (all optional):
#   FRAMELINE_KAFKA_DIR      state dir (default <repo>/.cache/kafka)
#   KAFKA_INTERNAL_PORT      19092   SASL_PLAINTEXT + SCRAM-SHA-512
#   KAFKA_EXTERNAL_PORT      9092    SASL_SSL + SCRAM-SHA-512
#   KAFKA_CONTROLLER_PORT    9093    loopback only
#                            with --nodes 3, node N listens on each port + 10*(N-1)
#   KAFKA_PARTITIONS         3       partitions of the frame topics (one per camera)
#   KAFKA_HEAP               512m (256m per node with --nodes 3)
#   KAFKA_EXTERNAL_ADVERTISED_HOST  localhost  (what the broker tells EXTERNAL clients to dial;
#                            tests set an unreachable one to reproduce the classic listener mistake)
#   KAFKA_EXTERNAL_BIND      127.0.0.1  address the EXTERNAL listener binds (two-host tests bind
#                            a veth address; the certificate then names it too)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
lib_here=$here
log_tag=kafka.sh
# shellcheck source=lib.sh
. "$here/lib.sh"

state=${FRAMELINE_KAFKA_DIR:-$repo/.cache/kafka}
kafka_libs=$repo/.cache/kafka-dist/$kafka_version/libs
internal_port=${KAFKA_INTERNAL_PORT:-19092}
external_port=${KAFKA_EXTERNAL_PORT:-9092}
controller_port=${KAFKA_CONTROLLER_PORT:-9093}
partitions=${KAFKA_PARTITIONS:-3}
external_host=${KAFKA_EXTERNAL_ADVERTISED_HOST:-localhost}
external_bind=${KAFKA_EXTERNAL_BIND:-127.0.0.1}
users=("${scram_users[@]}")

# How many nodes this state dir holds: a cluster keeps one folder per node.
node_count() { if [ -d "$state/node-1" ]; then find "$state" -maxdepth 1 -name 'node-[0-9]*' | wc -l; else echo 1; fi; }
# Node N's own folder (run/, logs/, data/): the state dir itself for a single node.
node_dir() { if [ "$nodes" -eq 1 ]; then echo "$state"; else echo "$state/node-$1"; fi; }
port_of() { echo $(($1 + 10 * ($2 - 1))); }

running_pid() {
  local pid dir; dir=$(node_dir "${1:-1}")
  [ -f "$dir/run/kafka.pid" ] || return 1
  pid=$(cat "$dir/run/kafka.pid")
  # Only a java process started from this state dir counts as ours.
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$dir/run/server.properties"; then
    echo "$pid"
  else
    return 1
  fi
}

ensure_tools() {
  have node || die "node 20 is required"
  ensure_packages java="$(java_package)" mvn=maven openssl=openssl
  [ -d "$repo/node_modules/kafkajs" ] || (cd "$repo" && npm install --no-audit --no-fund >/dev/null)
}

ensure_secrets() {
  mkdir -p "$state/secrets" && chmod 700 "$state/secrets"
  for u in "${users[@]}" controller keystore; do new_secret "$state/secrets/$u.password"; done
}

# A throwaway CA and a broker certificate for 127.0.0.1/localhost, so that the
# EXTERNAL listener is SASL_SSL locally exactly as on EC2 (all nodes share it).
ensure_tls() {
  local tls=$state/tls
  mkdir -p "$tls" && chmod 700 "$tls"
  [ -s "$tls/ca.pem" ] || make_ca "$tls/ca.key" "$tls/ca.pem" "/CN=frameline local CA"
  make_broker_keystore "$tls" "$tls/ca.pem" "$tls/ca.key" "$state/secrets/keystore.password" \
    "$(san_list localhost 127.0.0.1 "$external_host" "$external_bind")"
  chmod 600 "$tls"/*
}

voters() {
  local i out=""
  for i in $(seq 1 "$nodes"); do out="${out:+$out,}$i@127.0.0.1:$(port_of "$controller_port" "$i")"; done
  echo "$out"
}

render_config() {
  local dir; dir=$(node_dir "$1")
  mkdir -p "$dir/run" "$dir/logs" "$dir/data"
  NODE_ID=$1 QUORUM_VOTERS=$(voters) CONTROLLER_BIND=127.0.0.1 \
  INTERNAL_BIND=127.0.0.1 EXTERNAL_BIND=$external_bind INTERNAL_HOST=127.0.0.1 EXTERNAL_HOST=$external_host \
  INTERNAL_PORT=$(port_of "$internal_port" "$1") EXTERNAL_PORT=$(port_of "$external_port" "$1") \
  CONTROLLER_PORT=$(port_of "$controller_port" "$1") \
  REPLICATION_FACTOR=$replication_factor MIN_ISR=$min_isr KEYSTORE_FILE=$state/tls/broker.p12 \
  MESSAGE_MAX_BYTES=33554432 DATA_DIR=$dir/data RETENTION_HOURS=6 RETENTION_BYTES=2147483648 \
    render_server_properties "$dir/run/server.properties" "$state/secrets"
}

cluster_id() {
  [ -s "$state/cluster.id" ] || random_cluster_id >"$state/cluster.id"
  cat "$state/cluster.id"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_broker() {
  local dir p; dir=$(node_dir "$1")
  for p in "$internal_port" "$external_port" "$controller_port"; do
    p=$(port_of "$p" "$1")
    port_free "$p" || die "port $p on 127.0.0.1 is taken by another process; stop it or set KAFKA_*_PORT"
  done
  say "starting Kafka $kafka_version${node_label:-} (heap $heap), log: $dir/logs/server.log"
  broker_command "$dir/run/server.properties" "$dir/logs" "$heap"
  # setsid: the broker outlives this script but is stopped by `down` via its pid.
  setsid "${broker_cmd[@]}" >"$dir/logs/stdout.log" 2>&1 </dev/null &
  echo $! >"$dir/run/kafka.pid"
}

bootstrap_list() {
  local host=$1 port=$2 i out=""
  for i in $(seq 1 "$nodes"); do out="${out:+$out,}$host:$(port_of "$port" "$i")"; done
  echo "$out"
}

print_env() {
  cat <<EOT
bootstrap.internal=$(bootstrap_list 127.0.0.1 "$internal_port")
bootstrap.external=$(bootstrap_list "$([ "$external_bind" = 127.0.0.1 ] && echo localhost || echo "$external_bind")" "$external_port")
security.protocol.internal=SASL_PLAINTEXT
security.protocol.external=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
ssl.ca=$state/tls/ca.pem
EOT
  for u in "${users[@]}"; do
    echo "sasl.$u.username=$u"
    echo "sasl.$u.password.file=$state/secrets/$u.password"
  done
}

cmd_up() {
  local i pid pids=()
  ensure_tools
  ensure_jars
  ensure_secrets
  ensure_tls
  for i in $(seq 1 "$nodes"); do
    [ "$nodes" -eq 1 ] || node_label=" node $i"
    render_config "$i"
    format_storage "$(node_dir "$i")/run/server.properties" "$(node_dir "$i")/data" "$(node_dir "$i")/logs" "$(cluster_id)" "$state/secrets"
    if pid=$(running_pid "$i"); then
      say "already running${node_label:-} (pid $pid)"
    else
      start_broker "$i"
    fi
    pids+=("$(cat "$(node_dir "$i")/run/kafka.pid")")
  done
  print_env >"$state/client.properties"
  # Waits for the broker(s) to answer, then creates topics and ACLs (idempotent).
  provision_topics "$state/client.properties" "$partitions" \
    ${cluster:+"$replication_factor"} ${cluster:+"$min_isr"} \
    || { tail -n 30 "$(node_dir 1)/logs/server.log" >&2 || true; die "broker did not become ready; see $(node_dir 1)/logs/server.log"; }
  if [ -z "$cluster" ]; then
    cat >&2 <<EOT

Kafka $kafka_version is up (pid ${pids[0]}).
  INTERNAL (SASL_PLAINTEXT, SCRAM-SHA-512): 127.0.0.1:$internal_port
  EXTERNAL (SASL_SSL, SCRAM-SHA-512):       localhost:$external_port   CA: $state/tls/ca.pem
  users: ${users[*]}; passwords in $state/secrets/<user>.password
  the same as key=value lines: $state/client.properties

EOT
  else
    cat >&2 <<EOT

Kafka $kafka_version is up: $nodes nodes (pids ${pids[*]}), replication factor $replication_factor, min.insync.replicas $min_isr.
  INTERNAL (SASL_PLAINTEXT, SCRAM-SHA-512): $(bootstrap_list 127.0.0.1 "$internal_port")
  EXTERNAL (SASL_SSL, SCRAM-SHA-512):       $(bootstrap_list localhost "$external_port")   CA: $state/tls/ca.pem
  users: ${users[*]}; passwords in $state/secrets/<user>.password; node N's pid in $state/node-N/run/kafka.pid
  the same as key=value lines: $state/client.properties

EOT
  fi
  cat "$state/client.properties"
}

cmd_down() {
  local wipe=${1:-} i pid pids=()
  # Every node at once: a cluster's last broker alone would wait for a quorum that is gone.
  for i in $(seq 1 "$nodes"); do
    [ "$nodes" -eq 1 ] || node_label=" node $i"
    if pid=$(running_pid "$i"); then
      say "stopping broker${node_label:-} (pid $pid)"
      kill -TERM "$pid"
      pids+=("$pid")
    else
      say "not running${node_label:-}"
    fi
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && { say "broker pid $pid did not stop in 30 s, killing it"; kill -KILL "$pid"; }
  done
  for i in $(seq 1 "$nodes"); do rm -f "$(node_dir "$i")/run/kafka.pid"; done
  if [ "$wipe" = "--wipe" ]; then say "wiping $state"; rm -rf "$state"; fi
}

cmd_status() {
  local i pid up=0 lines=()
  for i in $(seq 1 "$nodes"); do
    if pid=$(running_pid "$i"); then up=$((up + 1)); lines+=("running${node_label_prefix:+ node=$i} pid=$pid"); else lines+=("stopped${node_label_prefix:+ node=$i}"); fi
  done
  if [ "$nodes" -eq 1 ]; then
    if [ "$up" -eq 1 ]; then echo "${lines[0]} state=$state"; cat "$state/client.properties"
    else echo "stopped state=$state"; return 3; fi
  else
    printf '%s\n' "${lines[@]}"
    echo "nodes=$nodes running=$up state=$state"
    [ "$up" -eq "$nodes" ] || return 3
    cat "$state/client.properties"
  fi
}

cmd=${1:-}
[ $# -gt 0 ] && shift
nodes=$(node_count)
if [ "$cmd" = up ]; then
  while [ $# -gt 0 ]; do
    case "$1" in
      --nodes) nodes=${2:-}; shift 2 || true ;;
      *) die "unknown option $1 (usage: kafka.sh up [--nodes 1|3])" ;;
    esac
  done
  case "$nodes" in 1|3) ;; *) die "--nodes must be 1 or 3 (a KRaft quorum needs an odd count), not '$nodes'" ;; esac
  if [ "$nodes" -ne "$(node_count)" ] && { [ -d "$state/run" ] || [ -d "$state/node-1" ]; }; then
    die "$state holds a $(node_count)-node broker; run 'kafka.sh down --wipe' first or set FRAMELINE_KAFKA_DIR"
  fi
fi
cluster=""; replication_factor=1; min_isr=1; heap=${KAFKA_HEAP:-512m}; node_label_prefix=""
if [ "$nodes" -gt 1 ]; then cluster=1; replication_factor=3; min_isr=2; heap=${KAFKA_HEAP:-256m}; node_label_prefix=1; fi

case "$cmd" in
  up) cmd_up ;;
  down) cmd_down "${1:-}" ;;
  status) cmd_status ;;
  logs) exec tail -n "${1:-100}" -F "$(node_dir 1)/logs/server.log" ;;
  env) print_env ;;
  *) echo "usage: $0 up [--nodes 1|3] | down [--wipe] | status | logs [N] | env" >&2; exit 64 ;;
esac
