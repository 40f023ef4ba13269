# shellcheck shell=bash disable=SC2034,SC2154
# (SC2034/SC2154: variables cross the source boundary both ways, see below.)
# The steps that bring a frameline broker up, shared by the local runner
# (kafka.sh) and the EC2 first-boot script (ec2-bootstrap.sh): one way to
# bring a broker up, whichever host it is. Sourced, never run.
#
# Callers set, before calling the steps:
#   lib_here     this folder (template, pom.xml, log4j.properties, *.mjs)
#   kafka_libs   folder of the Kafka jars (ensure_jars fills it)
#   log_tag      prefix of progress lines on stderr ("kafka.sh", "ec2-bootstrap")
# and per step the folders it names in its comment.

kafka_version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$lib_here/pom.xml")
# provision.mjs and render.mjs need only kafkajs (no dependencies of its own);
# on a broker host without npm it comes from the registry, checked against this
# pin (the same version and integrity as the repo's package-lock.json).
kafkajs_version=2.2.4
kafkajs_integrity=sha512-j/YeapB1vfPT2iOIUn/vxdyKEuhuY2PxMBvf5JWux6iSaukAccrMtXEY/Lb7OvavDhOWME589bpLrEdnVHjfjA==
scram_users=(admin agent cloud)

# Where a broker host (EC2) keeps things: code and jars under /opt/frameline,
# config and secrets under /etc/frameline, data (the EBS volume) at /var/lib/kafka.
ec2_paths() {
  conf_dir=/etc/frameline/kafka
  data_root=/var/lib/kafka
  kafka_libs=/opt/frameline/kafka-dist/$kafka_version/libs
  maven_repo=/opt/frameline/kafka-dist/m2
}

say() { echo "${log_tag:-kafka.sh}: $*" >&2; }
die() { say "error: $*"; exit 1; }

have() { command -v "$1" >/dev/null 2>&1; }

# Installs the Debian packages whose commands are missing. Args: cmd=package ...
ensure_packages() {
  local missing=() pair
  for pair in "$@"; do have "${pair%%=*}" || missing+=("${pair#*=}"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]} (Debian packages)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The JRE Debian ships for this release: 17 on bookworm, 21 on trixie.
java_package() {
  local p
  for p in openjdk-17-jre-headless openjdk-21-jre-headless; do
    apt-cache show "$p" >/dev/null 2>&1 && { echo "$p"; return 0; }
  done
  echo default-jre-headless
}

# Kafka's runtime jars from Maven Central, once, into $kafka_libs.
# Optional: maven_repo (Maven's local repository; default ~/.m2).
ensure_jars() {
  [ -f "$kafka_libs/.complete" ] && return 0
  say "resolving org.apache.kafka:kafka_2.13:$kafka_version from Maven Central into $kafka_libs"
  rm -rf "$kafka_libs" && mkdir -p "$kafka_libs"
  mvn -q -B -f "$lib_here/pom.xml" ${maven_repo:+"-Dmaven.repo.local=$maven_repo"} dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$kafka_libs" >&2
  touch "$kafka_libs/.complete"
}

# kafkajs beside provision.mjs, for a host that has Node but not the repo's
# node_modules: the registry tarball, verified against the pinned integrity.
ensure_kafkajs() {
  local dest=$lib_here/node_modules/kafkajs tmp
  (cd "$lib_here" && node --input-type=module -e "await import('kafkajs')" 2>/dev/null) && return 0
  say "fetching kafkajs $kafkajs_version from the npm registry into $dest"
  tmp=$(mktemp -d)
  curl -fsSL --retry 5 -o "$tmp/kafkajs.tgz" "https://registry.npmjs.org/kafkajs/-/kafkajs-$kafkajs_version.tgz" \
    || { rm -rf "$tmp"; die "could not download kafkajs $kafkajs_version from registry.npmjs.org"; }
  if [ "sha512-$(openssl dgst -sha512 -binary "$tmp/kafkajs.tgz" | base64 -w0)" != "$kafkajs_integrity" ]; then
    rm -rf "$tmp"; die "kafkajs-$kafkajs_version.tgz does not match its pinned sha512; refusing to use it"
  fi
  rm -rf "$dest" && mkdir -p "$dest"
  tar -xzf "$tmp/kafkajs.tgz" -C "$dest" --strip-components=1
  rm -rf "$tmp"
}

new_secret() { [ -s "$1" ] || (umask 077; openssl rand -hex 24 | tr -d '\n' >"$1"); }

# A self-signed CA from a key (made here when $1 does not exist yet).
# Args: ca.key ca.pem subject
make_ca() {
  (umask 077
   [ -s "$1" ] || openssl genrsa -out "$1" 2048 2>/dev/null
   openssl req -x509 -new -key "$1" -days 3650 -subj "$3" -out "$2" 2>/dev/null)
}

# The subjectAltName list for the broker's hosts: IP: for addresses, DNS: otherwise.
# Args: host ... (empty ones skipped)
san_list() {
  local san="" h entry
  for h in "$@"; do
    [ -n "$h" ] || continue
    case "$h" in *[!0-9.]*) entry="DNS:$h" ;; *) entry="IP:$h" ;; esac
    case ",$san," in *",$entry,"*) ;; *) san="${san:+$san,}$entry" ;; esac
  done
  echo "$san"
}

# The broker's key and certificate signed by the CA, packed with the CA as a
# PKCS12 keystore. Made again when the SAN list changed (e.g. a new Elastic IP).
# Args: tls_dir ca.pem ca.key keystore_password_file san_list
make_broker_keystore() {
  local tls=$1 ca=$2 ca_key=$3 pass_file=$4 san=$5
  local ext="subjectAltName=$san
extendedKeyUsage=serverAuth"
  if [ -s "$tls/broker.p12" ] && [ "$(cat "$tls/ext.cnf" 2>/dev/null)" = "$ext" ]; then return 0; fi
  (umask 077
   printf '%s\n' "$ext" >"$tls/ext.cnf"
   local cn=${san%%,*}
   openssl req -newkey rsa:2048 -nodes -subj "/CN=${cn#*:}" -keyout "$tls/broker.key" -out "$tls/broker.csr" 2>/dev/null
   openssl x509 -req -in "$tls/broker.csr" -CA "$ca" -CAkey "$ca_key" -CAcreateserial -CAserial "$tls/ca.srl" \
     -days 825 -extfile "$tls/ext.cnf" -out "$tls/broker.pem" 2>/dev/null
   openssl pkcs12 -export -name broker -inkey "$tls/broker.key" -in "$tls/broker.pem" \
     -certfile "$ca" -passout "file:$pass_file" -out "$tls/broker.p12")
  rm -f "$tls/broker.csr"
}

# Renders server.properties.template to $1 (mode 0600) from these variables of
# the caller: NODE_ID QUORUM_VOTERS CONTROLLER_BIND INTERNAL_BIND EXTERNAL_BIND
# INTERNAL_HOST EXTERNAL_HOST INTERNAL_PORT EXTERNAL_PORT CONTROLLER_PORT
# REPLICATION_FACTOR MIN_ISR DATA_DIR RETENTION_HOURS RETENTION_BYTES
# MESSAGE_MAX_BYTES KEYSTORE_FILE, and the secrets from files in $2:
# admin.password controller.password keystore.password.
render_server_properties() {
  local out=$1 secrets=$2
  (umask 077
   export NODE_ID QUORUM_VOTERS CONTROLLER_BIND INTERNAL_BIND EXTERNAL_BIND INTERNAL_HOST EXTERNAL_HOST \
     INTERNAL_PORT EXTERNAL_PORT CONTROLLER_PORT REPLICATION_FACTOR MIN_ISR DATA_DIR RETENTION_HOURS \
     RETENTION_BYTES MESSAGE_MAX_BYTES KEYSTORE_FILE
   # The secrets reach render.mjs through its environment, never its argv.
   ADMIN_PASSWORD=$(cat "$secrets/admin.password") CONTROLLER_PASSWORD=$(cat "$secrets/controller.password") \
   KEYSTORE_PASSWORD=$(cat "$secrets/keystore.password") \
     node "$lib_here/render.mjs" "$lib_here/server.properties.template" >"$out.tmp")
  mv "$out.tmp" "$out"
}

# Formats a KRaft log dir once, with the SCRAM users' credentials in its
# bootstrap metadata (no broker is needed to create users).
# Args: server.properties data_dir logs_dir cluster_id secrets_dir
format_storage() {
  local config=$1 data=$2 logs=$3 cluster=$4 secrets=$5 u argfile
  [ -f "$data/meta.properties" ] && return 0
  say "formatting $data (cluster $cluster) with SCRAM users ${scram_users[*]}"
  # StorageTool takes the credentials only as arguments. The java launcher reads
  # them from an @argfile instead (JDK 9+), so they never appear in the
  # process's argv (/proc/<pid>/cmdline, ps) for other local users to read.
  argfile=$(mktemp "$logs/.format-args.XXXXXX")
  chmod 600 "$argfile"
  {
    printf '%s\n' kafka.tools.StorageTool format -t "$cluster" -c "\"$(argfile_quote "$config")\""
    for u in "${scram_users[@]}"; do
      printf -- '--add-scram\n"%s"\n' "$(argfile_quote "SCRAM-SHA-512=[name=$u,password=$(cat "$secrets/$u.password")]")"
    done
  } >"$argfile"
  java -cp "$kafka_libs/*" -Dlog4j.configuration="file:$lib_here/log4j.properties" -Dkafka.logs.dir="$logs" \
    "@$argfile" >"$logs/format.log" 2>&1 \
    || { rm -f "$argfile"; cat "$logs/format.log" >&2; die "formatting storage failed"; }
  rm -f "$argfile"
}

# Escapes one argument for a double-quoted java @argfile entry (backslash and quote).
argfile_quote() {
  local v=${1//\\/\\\\}
  printf '%s' "${v//\"/\\\"}"
}

# A KRaft cluster id as Kafka's Uuid makes one (16 random bytes, URL-safe
# base64 without padding, never starting with "-"), without starting a JVM.
random_cluster_id() {
  local id
  for (( ; ; )); do
    id=$(openssl rand 16 | base64 | tr '+/' '-_' | tr -d '=\n')
    [ "${id:0:1}" != - ] && break
  done
  echo "$id"
}

# The broker's command line, in the array broker_cmd. Args: server.properties logs_dir heap
broker_command() {
  broker_cmd=(java -Xms"$3" -Xmx"$3" -XX:+UseG1GC -Djava.awt.headless=true
    -Dlog4j.configuration="file:$lib_here/log4j.properties" -Dkafka.logs.dir="$2"
    -cp "$kafka_libs/*" kafka.Kafka "$1")
}

# Waits for the broker, then creates topics and ACLs (idempotent).
# Args: client.properties partitions [replication_factor min_isr]
provision_topics() {
  FRAMELINE_LOG_TAG=${log_tag:-kafka.sh} node "$lib_here/provision.mjs" "$1" "$2" ${3:+"$3"} ${4:+"$4"}
}
