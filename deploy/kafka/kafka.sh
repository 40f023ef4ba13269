#!/usr/bin/env bash
# Local single-node Kafka (KRaft) for the demo and the tests, from the same
# server.properties template that Terraform renders on EC2.
#
#   kafka.sh up | down [--wipe] | status | logs | env
#
# Environment (all optional):
#   FRAMELINE_KAFKA_DIR      state dir (default <repo>/.cache/kafka)
#   KAFKA_INTERNAL_PORT      19092   SASL_PLAINTEXT + SCRAM-SHA-512
#   KAFKA_EXTERNAL_PORT      9092    SASL_SSL + SCRAM-SHA-512
#   KAFKA_CONTROLLER_PORT    9093    loopback only
#   KAFKA_PARTITIONS         3       partitions of the frame topics (one per camera)
#   KAFKA_HEAP               512m
#   KAFKA_EXTERNAL_ADVERTISED_HOST  localhost  (what the broker tells EXTERNAL clients to dial;
#                            tests set an unreachable one to reproduce the classic listener mistake)
#   KAFKA_EXTERNAL_BIND      127.0.0.1  address the EXTERNAL listener binds (two-host tests bind
#                            a veth address; the certificate then names it too)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
state=${FRAMELINE_KAFKA_DIR:-$repo/.cache/kafka}
kafka_version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")
libs=$repo/.cache/kafka-dist/$kafka_version/libs
internal_port=${KAFKA_INTERNAL_PORT:-19092}
external_port=${KAFKA_EXTERNAL_PORT:-9092}
controller_port=${KAFKA_CONTROLLER_PORT:-9093}
partitions=${KAFKA_PARTITIONS:-3}
heap=${KAFKA_HEAP:-512m}
external_host=${KAFKA_EXTERNAL_ADVERTISED_HOST:-localhost}
external_bind=${KAFKA_EXTERNAL_BIND:-127.0.0.1}
users=(admin agent cloud)

say() { echo "kafka.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

running_pid() {
  local pid
  [ -f "$state/run/kafka.pid" ] || return 1
  pid=$(cat "$state/run/kafka.pid")
  # Only a java process started from this state dir counts as ours.
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$state/run/server.properties"; then
    echo "$pid"
  else
    return 1
  fi
}

ensure_tools() {
  local missing=()
  command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null || missing+=(maven)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v node >/dev/null || die "node 20 is required"
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]} (Debian packages)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  [ -d "$repo/node_modules/kafkajs" ] || (cd "$repo" && npm install --no-audit --no-fund >/dev/null)
}

ensure_jars() {
  [ -f "$libs/.complete" ] && return 0
  say "resolving org.apache.kafka:kafka_2.13:$kafka_version from Maven Central into $libs"
  rm -rf "$libs" && mkdir -p "$libs"
  mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$libs" >&2
  touch "$libs/.complete"
}

new_secret() { [ -s "$1" ] || (umask 077; openssl rand -hex 24 | tr -d '\n' >"$1"); }

ensure_secrets() {
  mkdir -p "$state/secrets" && chmod 700 "$state/secrets"
  for u in "${users[@]}" controller keystore; do new_secret "$state/secrets/$u.password"; done
}

# A throwaway CA and a broker certificate for 127.0.0.1/localhost, so that the
# EXTERNAL listener is SASL_SSL locally exactly as on EC2.
ensure_tls() {
  local tls=$state/tls
  [ -s "$tls/broker.p12" ] && return 0
  mkdir -p "$tls" && chmod 700 "$tls"
  local ks_pass; ks_pass=$(cat "$state/secrets/keystore.password")
  openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=frameline local CA" \
    -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$tls/broker.key" -out "$tls/broker.csr" 2>/dev/null
  local san="DNS:localhost,IP:127.0.0.1"
  for h in "$external_host" "$external_bind"; do
    case "$h" in localhost|127.0.0.1) ;; *[!0-9.]*) san="$san,DNS:$h" ;; *) san="$san,IP:$h" ;; esac
  done
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$san" >"$tls/ext.cnf"
  openssl x509 -req -in "$tls/broker.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial \
    -days 825 -extfile "$tls/ext.cnf" -out "$tls/broker.pem" 2>/dev/null
  openssl pkcs12 -export -name broker -inkey "$tls/broker.key" -in "$tls/broker.pem" \
    -certfile "$tls/ca.pem" -passout "pass:$ks_pass" -out "$tls/broker.p12"
  chmod 600 "$tls"/*
}

render_config() {
  mkdir -p "$state/run" "$state/logs" "$state/data"
  local out=$state/run/server.properties
  (umask 077
   INTERNAL_BIND=127.0.0.1 EXTERNAL_BIND=$external_bind INTERNAL_HOST=127.0.0.1 EXTERNAL_HOST=$external_host \
   INTERNAL_PORT=$internal_port EXTERNAL_PORT=$external_port CONTROLLER_PORT=$controller_port \
   ADMIN_PASSWORD=$(cat "$state/secrets/admin.password") \
   CONTROLLER_PASSWORD=$(cat "$state/secrets/controller.password") \
   KEYSTORE_FILE=$state/tls/broker.p12 KEYSTORE_PASSWORD=$(cat "$state/secrets/keystore.password") \
   MESSAGE_MAX_BYTES=33554432 DATA_DIR=$state/data RETENTION_HOURS=6 RETENTION_BYTES=2147483648 \
   node "$here/render.mjs" "$here/server.properties.template" >"$out")
}

format_storage() {
  [ -f "$state/data/meta.properties" ] && return 0
  local args=() cluster
  for u in "${users[@]}"; do
    args+=(--add-scram "SCRAM-SHA-512=[name=$u,password=$(cat "$state/secrets/$u.password")]")
  done
  cluster=$(java -cp "$libs/*" kafka.tools.StorageTool random-uuid)
  say "formatting $state/data (cluster $cluster) with SCRAM users ${users[*]}"
  java -cp "$libs/*" -Dlog4j.configuration="file:$here/log4j.properties" -Dkafka.logs.dir="$state/logs" \
    kafka.tools.StorageTool format -t "$cluster" -c "$state/run/server.properties" "${args[@]}" >"$state/logs/format.log" 2>&1 \
    || { cat "$state/logs/format.log" >&2; die "formatting storage failed"; }
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_broker() {
  for p in "$internal_port" "$external_port" "$controller_port"; do
    port_free "$p" || die "port $p on 127.0.0.1 is taken by another process; stop it or set KAFKA_*_PORT"
  done
  say "starting Kafka $kafka_version (heap $heap), log: $state/logs/server.log"
  # setsid: the broker outlives this script but is stopped by `down` via its pid.
  setsid java -Xms"$heap" -Xmx"$heap" -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$here/log4j.properties" -Dkafka.logs.dir="$state/logs" \
    -cp "$libs/*" kafka.Kafka "$state/run/server.properties" \
    >"$state/logs/stdout.log" 2>&1 </dev/null &
  echo $! >"$state/run/kafka.pid"
}

print_env() {
  cat <<EOT
bootstrap.internal=127.0.0.1:$internal_port
bootstrap.external=$([ "$external_bind" = 127.0.0.1 ] && echo localhost || echo "$external_bind"):$external_port
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
  ensure_tools
  ensure_jars
  ensure_secrets
  ensure_tls
  render_config
  format_storage
  if pid=$(running_pid); then
    say "already running (pid $pid)"
  else
    start_broker
  fi
  print_env >"$state/client.properties"
  # Waits for the broker to answer, then creates topics and ACLs (idempotent).
  node "$here/provision.mjs" "$state/client.properties" "$partitions" \
    || { tail -n 30 "$state/logs/server.log" >&2 || true; die "broker did not become ready; see $state/logs/server.log"; }
  cat >&2 <<EOT

Kafka $kafka_version is up (pid $(cat "$state/run/kafka.pid")).
  INTERNAL (SASL_PLAINTEXT, SCRAM-SHA-512): 127.0.0.1:$internal_port
  EXTERNAL (SASL_SSL, SCRAM-SHA-512):       localhost:$external_port   CA: $state/tls/ca.pem
  users: ${users[*]}; passwords in $state/secrets/<user>.password
  the same as key=value lines: $state/client.properties

EOT
  cat "$state/client.properties"
}

cmd_down() {
  local wipe=${1:-}
  if pid=$(running_pid); then
    say "stopping broker (pid $pid)"
    kill -TERM "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && { say "broker did not stop in 30 s, killing it"; kill -KILL "$pid"; }
    rm -f "$state/run/kafka.pid"
  else
    say "not running"
  fi
  if [ "$wipe" = "--wipe" ]; then say "wiping $state"; rm -rf "$state"; fi
}

cmd_status() {
  if pid=$(running_pid); then echo "running pid=$pid state=$state"; cat "$state/client.properties"
  else echo "stopped state=$state"; return 3; fi
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down "${2:-}" ;;
  status) cmd_status ;;
  logs) exec tail -n "${2:-100}" -F "$state/logs/server.log" ;;
  env) print_env ;;
  *) echo "usage: $0 up | down [--wipe] | status | logs [N] | env" >&2; exit 64 ;;
esac
