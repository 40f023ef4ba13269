#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# First boot of a frameline broker on EC2 (run by the Terraform user_data as root):
#
#   bash /opt/frameline/kafka/ec2-bootstrap.sh /etc/frameline/kafka.env
#
# The same steps as the local runner (lib.sh), with the secrets in SSM
# Parameter Store instead of a state dir: node 1 makes the CA, the KRaft cluster
# id and the SCRAM passwords once (put-parameter without --overwrite), every node
# reads them back, signs its own certificate with the shared CA, renders
# server.properties.template, formats its log dir, installs and starts
# kafka.service, and provisions topics and ACLs. Idempotent: a second run
# changes nothing that is already in place. Paths: /opt/frameline (code, jars),
# /etc/frameline (config, secrets), /var/lib/kafka (data volume), and
# /etc/systemd/system (units). The env file's keys are in ec2-contract, see README.md.
set -euo pipefail

lib_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
log_tag=ec2-bootstrap
# shellcheck source=lib.sh
. "$lib_here/lib.sh"

env_file=${1:-/etc/frameline/kafka.env}
ec2_paths
ssm_wait_s=${FRAMELINE_SSM_WAIT_SECONDS:-600}

# ------------------------------------------------------------------ config

# Exit 78 (EX_CONFIG) naming the key and the file, as every frameline service does.
bad_config() { say "error: $1 in $env_file: $2"; exit 78; }

# KEY=VALUE lines only: the file is data, never sourced as code.
load_env() {
  [ -r "$env_file" ] || { say "error: cannot read $env_file (the env file Terraform writes)"; exit 78; }
  local line key n=0
  while IFS= read -r line || [ -n "$line" ]; do
    n=$((n + 1))
    case "$line" in '' | '#'*) continue ;; esac
    [[ "$line" =~ ^([A-Z][A-Z0-9_]*)=(.*)$ ]] || bad_config "line $n" "not a KEY=VALUE line"
    key=${BASH_REMATCH[1]}
    export "$key=${BASH_REMATCH[2]}"
  done <"$env_file"
}

need() { # KEY regex what
  local v=${!1:-}
  [[ "$v" =~ ^($2)$ ]] || bad_config "$1" "'$v' is not $3"
}

validate_env() {
  local ip='[0-9]{1,3}(\.[0-9]{1,3}){3}' port='[1-9][0-9]{0,4}' voter
  need FRAMELINE_CLUSTER '[a-z0-9-]{1,32}' 'a cluster name ([a-z0-9-], at most 32)'
  need FRAMELINE_SSM_PREFIX '/[A-Za-z0-9_./-]+' 'an SSM path (/frameline/<cluster>)'
  need AWS_REGION '[a-z]{2}(-[a-z]+)+-[0-9]' 'an AWS region'
  need KAFKA_NODE_COUNT '1|3' '1 or 3'
  need KAFKA_NODE_ID "[1-$KAFKA_NODE_COUNT]" "a node id from 1 to KAFKA_NODE_COUNT ($KAFKA_NODE_COUNT)"
  need KAFKA_PRIVATE_IP "$ip" 'an IPv4 address'
  need KAFKA_EXTERNAL_ADVERTISED_HOST "$ip|[A-Za-z0-9.-]+" 'a host name or IPv4 address'
  need KAFKA_EXTERNAL_DNS '[A-Za-z0-9.-]*' 'a DNS name (or empty)'
  for k in KAFKA_INTERNAL_PORT KAFKA_EXTERNAL_PORT KAFKA_CONTROLLER_PORT; do need "$k" "$port" 'a TCP port'; done
  need KAFKA_QUORUM_VOTERS "[1-3]@$ip:$port(,[1-3]@$ip:$port){$((KAFKA_NODE_COUNT - 1))}" \
    "$KAFKA_NODE_COUNT voter(s) id@ip:port, comma separated"
  voter="$KAFKA_NODE_ID@$KAFKA_PRIVATE_IP:$KAFKA_CONTROLLER_PORT"
  [[ ",$KAFKA_QUORUM_VOTERS," == *",$voter,"* ]] || bad_config KAFKA_QUORUM_VOTERS "does not name this node as $voter"
  need KAFKA_PARTITIONS '[1-9][0-9]{0,3}' 'a partition count'
  need KAFKA_REPLICATION_FACTOR "1|3" '1 or 3'
  [ "$KAFKA_REPLICATION_FACTOR" -le "$KAFKA_NODE_COUNT" ] || bad_config KAFKA_REPLICATION_FACTOR "exceeds KAFKA_NODE_COUNT ($KAFKA_NODE_COUNT)"
  need KAFKA_MIN_ISR '[1-3]' '1, 2 or 3'
  [ "$KAFKA_MIN_ISR" -le "$KAFKA_REPLICATION_FACTOR" ] || bad_config KAFKA_MIN_ISR "exceeds KAFKA_REPLICATION_FACTOR ($KAFKA_REPLICATION_FACTOR)"
  need KAFKA_RETENTION_HOURS '[1-9][0-9]{0,4}' 'a number of hours'
  need KAFKA_HEAP '[1-9][0-9]{0,5}[kmgKMG]' 'a JVM heap size such as 1g or 768m'
  need KAFKA_DATA_VOLUME_ID 'none|vol-[0-9a-f]{8,17}' 'an EBS volume id (vol-...) or none'
}

# ------------------------------------------------------------------ instance

# IMDSv2: a session token first (PUT), then reads that present it. The token
# travels in a header file, not on curl's command line.
imds_get() {
  curl -fsS --max-time 5 --retry 3 -H "@$work/imds-token.hdr" "$imds/latest/meta-data/$1"
}

check_instance() {
  local token
  imds=${FRAMELINE_IMDS_ENDPOINT:-http://169.254.169.254}
  token=$(curl -fsS --max-time 5 --retry 5 --retry-delay 1 --retry-connrefused -X PUT \
    -H 'X-aws-ec2-metadata-token-ttl-seconds: 900' "$imds/latest/api/token") \
    || die "no IMDSv2 token from $imds (the instance metadata service must allow IMDSv2)"
  (umask 077; printf 'X-aws-ec2-metadata-token: %s\n' "$token" >"$work/imds-token.hdr")
  instance_id=$(imds_get instance-id) || die "instance metadata $imds has no instance-id"
  local ip; ip=$(imds_get local-ipv4) || die "instance metadata $imds has no local-ipv4"
  # Named in the certificate as well: the Elastic IP once associated, else the instance's own public IP.
  public_ipv4=$(imds_get public-ipv4 2>/dev/null) || public_ipv4=""
  # The quorum voters name fixed private IPs: a node on another address would never join.
  [ "$ip" = "$KAFKA_PRIVATE_IP" ] || die "this instance's private IP is $ip, but KAFKA_PRIVATE_IP in $env_file is $KAFKA_PRIVATE_IP: the network interface must carry the fixed private IP the quorum names"
  say "instance $instance_id, node $KAFKA_NODE_ID of $KAFKA_NODE_COUNT, private IP $ip"
}

ensure_host_packages() {
  ensure_packages java="$(java_package)" mvn=maven openssl=openssl node=nodejs aws=awscli curl=curl \
    setpriv=util-linux mkfs.ext4=e2fsprogs
  id -u kafka >/dev/null 2>&1 \
    || useradd --system --user-group --home-dir "$data_root" --no-create-home --shell /usr/sbin/nologin kafka
}

# The encrypted gp3 volume that outlives the instance: formatted only when it
# has no filesystem (a replaced instance finds its log dirs again), mounted by
# a systemd mount unit so that kafka.service can require it.
prepare_data_volume() {
  mkdir -p "$data_root"
  [ "$KAFKA_DATA_VOLUME_ID" = none ] && return 0
  local dev=/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${KAFKA_DATA_VOLUME_ID/-/} i uuid
  for i in $(seq 1 60); do [ -b "$dev" ] && break; [ "$i" -eq 60 ] && die "data volume $KAFKA_DATA_VOLUME_ID did not appear as $dev within 5 min (is it attached?)"; sleep 5; done
  if ! blkid "$dev" >/dev/null 2>&1; then say "formatting the blank data volume $dev (ext4)"; mkfs.ext4 -q -L kafka-data "$dev"; fi
  uuid=$(blkid -s UUID -o value "$dev")
  [ -n "$uuid" ] || die "$dev holds something that is not a filesystem (a partition table?); refusing to format it"
  cat >/etc/systemd/system/var-lib-kafka.mount <<EOT
# Written by ec2-bootstrap.sh: the Kafka data volume $KAFKA_DATA_VOLUME_ID.
[Unit]
Description=Kafka data volume

[Mount]
What=/dev/disk/by-uuid/$uuid
Where=$data_root
Type=ext4
Options=defaults,noatime,nofail

[Install]
WantedBy=multi-user.target
EOT
  mountpoint -q "$data_root" || mount -o noatime "/dev/disk/by-uuid/$uuid" "$data_root"
  if systemd_running; then systemctl daemon-reload; systemctl enable var-lib-kafka.mount; fi
}

systemd_running() { [ -d /run/systemd/system ]; }

# ------------------------------------------------------------------ SSM

ssm() { aws ssm "$@" --region "$AWS_REGION" ${AWS_ENDPOINT_URL_SSM:+--endpoint-url "$AWS_ENDPOINT_URL_SSM"}; }

ssm_params=(tls/ca.pem tls/ca.key kraft/cluster-id scram/admin scram/agent scram/cloud scram/controller)

# Reads every parameter of the cluster in one call (the CLI is slow to start)
# into $work/ssm/<name with / as .>, mode 0600; absent ones leave no file.
ssm_fetch() {
  local err=$work/ssm.err n
  rm -rf "$work/ssm" && mkdir -m 700 "$work/ssm"
  (umask 077
   ssm get-parameters --with-decryption --output json \
     --names "${ssm_params[@]/#/$FRAMELINE_SSM_PREFIX/}" >"$work/ssm.json" 2>"$err") \
    || { cat "$err" >&2; die "cannot read SSM parameters under $FRAMELINE_SSM_PREFIX (the instance role must allow ssm:GetParameters on $FRAMELINE_SSM_PREFIX/*)"; }
  # shellcheck disable=SC2016 # JavaScript, not shell
  node -e '
    const fs = require("fs");
    const [file, prefix, dir] = process.argv.slice(1);
    for (const p of JSON.parse(fs.readFileSync(file, "utf8")).Parameters)
      fs.writeFileSync(`${dir}/${p.Name.slice(prefix.length + 1).replaceAll("/", ".")}`, p.Value, { mode: 0o600 });
  ' "$work/ssm.json" "$FRAMELINE_SSM_PREFIX" "$work/ssm"
  rm -f "$work/ssm.json"
  missing=()
  for n in "${ssm_params[@]}"; do [ -f "$work/ssm/${n//\//.}" ] || missing+=("$n"); done
}

ssm_value() { cat "$work/ssm/${1//\//.}"; }

# Stores the file's content unless the parameter exists: a reboot or another
# node never replaces it. The value goes through file://, never argv.
ssm_put_once() {
  local err=$work/ssm.err
  put_result=stored
  ssm put-parameter --name "$FRAMELINE_SSM_PREFIX/$1" --type "$2" --value "file://$3" >/dev/null 2>"$err" && return 0
  put_result=exists
  grep -q ParameterAlreadyExists "$err" && return 0
  cat "$err" >&2; die "cannot write SSM parameter $FRAMELINE_SSM_PREFIX/$1 (the instance role must allow ssm:PutParameter on $FRAMELINE_SSM_PREFIX/*)"
}

# Node 1 only: whatever is missing is made here and stored once.
create_cluster_secrets() {
  local u
  ssm_fetch
  [ ${#missing[@]} -eq 0 ] && return 0
  say "storing the cluster's CA, cluster id and SCRAM passwords in SSM under $FRAMELINE_SSM_PREFIX"
  if [ ! -f "$work/ssm/tls.ca.key" ]; then
    (umask 077; openssl genrsa -out "$work/new-ca.key" 2048 2>/dev/null)
    ssm_put_once tls/ca.key SecureString "$work/new-ca.key"
    # Stored by someone else meanwhile: theirs wins.
    if [ "$put_result" = exists ]; then ssm_fetch; else cp "$work/new-ca.key" "$work/ssm/tls.ca.key"; fi
  fi
  # The certificate is made from the stored key, so a boot cut short between the two puts still ends with a matching pair.
  if [ ! -f "$work/ssm/tls.ca.pem" ]; then
    make_ca "$work/ssm/tls.ca.key" "$work/new-ca.pem" "/CN=frameline $FRAMELINE_CLUSTER CA"
    ssm_put_once tls/ca.pem SecureString "$work/new-ca.pem"
  fi
  [ -f "$work/ssm/kraft.cluster-id" ] || { random_cluster_id | tr -d '\n' >"$work/cluster-id"; ssm_put_once kraft/cluster-id String "$work/cluster-id"; }
  for u in "${scram_users[@]}" controller; do
    [ -f "$work/ssm/scram.$u" ] || { new_secret "$work/$u.new"; ssm_put_once "scram/$u" SecureString "$work/$u.new"; }
  done
}

# Every node: waits (bounded) for node 1's parameters, then keeps local copies.
fetch_cluster_secrets() {
  local deadline=$((SECONDS + ssm_wait_s)) u
  for (( ; ; )); do
    ssm_fetch
    [ ${#missing[@]} -eq 0 ] && break
    [ "$SECONDS" -lt "$deadline" ] || die "SSM parameters ${missing[*]} under $FRAMELINE_SSM_PREFIX did not appear within ${ssm_wait_s} s: node 1 creates them on its first boot; check node 1's /var/log/cloud-init-output.log"
    say "waiting for node 1 to store ${missing[*]} under $FRAMELINE_SSM_PREFIX"
    sleep 5
  done
  mkdir -p "$conf_dir/secrets" "$conf_dir/tls"
  chmod 700 "$conf_dir/secrets"
  for u in "${scram_users[@]}" controller; do
    (umask 077; ssm_value "scram/$u" | tr -d '\n' >"$conf_dir/secrets/$u.password")
  done
  new_secret "$conf_dir/secrets/keystore.password"
  ssm_value tls/ca.pem >"$conf_dir/tls/ca.pem"
  cluster_id=$(ssm_value kraft/cluster-id | tr -d '\n')
}

# ------------------------------------------------------------------ broker

render_config() {
  local size
  # Bounded disk use: the frame topics (frames + backfill) may fill 70 % of the data volume.
  size=$(df -B1 --output=size "$data_root" | tail -n 1 | tr -d ' ')
  NODE_ID=$KAFKA_NODE_ID QUORUM_VOTERS=$KAFKA_QUORUM_VOTERS CONTROLLER_BIND=$KAFKA_PRIVATE_IP \
  INTERNAL_BIND=$KAFKA_PRIVATE_IP EXTERNAL_BIND=0.0.0.0 \
  INTERNAL_HOST=$KAFKA_PRIVATE_IP EXTERNAL_HOST=$KAFKA_EXTERNAL_ADVERTISED_HOST \
  INTERNAL_PORT=$KAFKA_INTERNAL_PORT EXTERNAL_PORT=$KAFKA_EXTERNAL_PORT CONTROLLER_PORT=$KAFKA_CONTROLLER_PORT \
  REPLICATION_FACTOR=$KAFKA_REPLICATION_FACTOR MIN_ISR=$KAFKA_MIN_ISR KEYSTORE_FILE=$conf_dir/tls/broker.p12 \
  MESSAGE_MAX_BYTES=33554432 DATA_DIR=$data_root/data RETENTION_HOURS=$KAFKA_RETENTION_HOURS \
  RETENTION_BYTES=$((size * 7 / 10 / (2 * KAFKA_PARTITIONS))) \
    render_server_properties "$conf_dir/server.properties" "$conf_dir/secrets"
  # The broker (user kafka) reads its config and keystore; only root reads the password files.
  chgrp kafka "$conf_dir" "$conf_dir/server.properties" "$conf_dir/tls" "$conf_dir/tls/broker.p12"
  chmod 0750 "$conf_dir" "$conf_dir/tls"
  chmod 0640 "$conf_dir/server.properties" "$conf_dir/tls/broker.p12"
  chmod 0644 "$conf_dir/tls/ca.pem"
}

unit_file() {
  [ -f "$lib_here/kafka.service" ] || die "$lib_here/kafka.service is missing: the user_data must write every file of deploy/kafka"
  echo "$lib_here/kafka.service"
}

direct_pid() {
  local pid
  pid=$(cat "$data_root/kafka.pid" 2>/dev/null) || return 1
  kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$conf_dir/server.properties" && echo "$pid"
}

start_service() {
  install -m 0644 "$(unit_file)" /etc/systemd/system/kafka.service
  if systemd_running; then
    systemctl daemon-reload
    systemctl enable kafka.service
    systemctl restart kafka.service
    say "kafka.service enabled and (re)started; logs: journalctl -u kafka -f"
  elif pid=$(direct_pid); then
    say "broker already running (pid $pid)"
  else
    # No systemd as PID 1 (a container, the namespace test): the unit's own command, as its user.
    say "systemd is not running: starting the broker directly as user kafka, log: $data_root/logs/server.log"
    setsid setpriv --reuid=kafka --regid=kafka --init-groups -- bash "$lib_here/kafka-exec.sh" >"$data_root/logs/stdout.log" 2>&1 </dev/null &
    echo $! >"$data_root/kafka.pid"
  fi
}

write_client_properties() {
  local u
  (umask 077
   { echo "bootstrap.internal=$KAFKA_PRIVATE_IP:$KAFKA_INTERNAL_PORT"
     echo "bootstrap.external=$KAFKA_EXTERNAL_ADVERTISED_HOST:$KAFKA_EXTERNAL_PORT"
     echo "ssl.ca=$conf_dir/tls/ca.pem"
     for u in "${scram_users[@]}"; do
       echo "sasl.$u.username=$u"
       echo "sasl.$u.password.file=$conf_dir/secrets/$u.password"
     done; } >"$conf_dir/client.properties")
}

main() {
  load_env
  validate_env
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  check_instance
  ensure_host_packages
  ensure_jars
  ensure_kafkajs
  prepare_data_volume
  mkdir -p "$conf_dir" "$data_root/data" "$data_root/logs"
  [ "$KAFKA_NODE_ID" = 1 ] && create_cluster_secrets
  fetch_cluster_secrets
  make_broker_keystore "$conf_dir/tls" "$conf_dir/tls/ca.pem" "$work/ssm/tls.ca.key" "$conf_dir/secrets/keystore.password" \
    "$(san_list "$KAFKA_EXTERNAL_ADVERTISED_HOST" "$KAFKA_EXTERNAL_DNS" "$KAFKA_PRIVATE_IP" "$public_ipv4")"
  render_config
  format_storage "$conf_dir/server.properties" "$data_root/data" "$data_root/logs" "$cluster_id" "$conf_dir/secrets"
  chown -R kafka:kafka "$data_root/data" "$data_root/logs"
  start_service
  write_client_properties
  FRAMELINE_PROVISION_WAIT_S=${FRAMELINE_PROVISION_WAIT_S:-$((KAFKA_NODE_COUNT > 1 ? 900 : 180))} \
    provision_topics "$conf_dir/client.properties" "$KAFKA_PARTITIONS" "$KAFKA_REPLICATION_FACTOR" "$KAFKA_MIN_ISR" \
    || die "the broker did not become ready; see $data_root/logs/server.log"
  say "broker node $KAFKA_NODE_ID is up: EXTERNAL $KAFKA_EXTERNAL_ADVERTISED_HOST:$KAFKA_EXTERNAL_PORT (SASL_SSL), INTERNAL $KAFKA_PRIVATE_IP:$KAFKA_INTERNAL_PORT (SASL_PLAINTEXT)"
  say "the agents' CA: aws ssm get-parameter --with-decryption --name $FRAMELINE_SSM_PREFIX/tls/ca.pem --query Parameter.Value --output text"
}

main
