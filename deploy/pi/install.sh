#!/bin/sh
# Install, update or remove the frameline agent on a Raspberry Pi (Raspberry Pi
# OS / Debian bookworm or trixie, 64-bit). Run as root from an unpacked release
# (`npm run pack:agent` makes one; this script is its deploy/install.sh):
#
#   tar -xzf frameline-agent-0.1.0-linux-arm64.tar.gz
#   sudo frameline-agent-0.1.0-linux-arm64/deploy/install.sh \
#     --broker broker.example.com:9092 --camera-id CAMERA-1 \
#     --ca-file ca.pem --password-file agent.password
#
# Running it again is safe: it changes only what differs. The password is read
# from a file or stdin, never from the command line. See --help.
set -eu

PREFIX_OPT=/opt/frameline
RELEASES=$PREFIX_OPT/releases
CURRENT=$PREFIX_OPT/agent
ETC=/etc/frameline
CONFIG=$ETC/agent.json
PASSWORD=$ETC/kafka-password
CA=$ETC/ca.pem
UNIT_NAME=frameline-agent.service
UNIT=/etc/systemd/system/$UNIT_NAME
WRAPPER=/usr/local/bin/frameline-agent
STATE=/var/lib/frameline-agent
USER_NAME=frameline
NODE=/usr/bin/node
MIN_NODE_MAJOR=20

usage() {
  cat <<'EOF'
usage: install.sh [options]            install or update, write the config, enable the service
       install.sh --uninstall [--purge] remove it (--purge: the spool in /var/lib/frameline-agent too)

options (each also read from the environment variable named after it):
  --broker HOST:PORT[,HOST:PORT]  the broker's EXTERNAL listener       FRAMELINE_KAFKA_BROKERS
  --camera-id ID                  record key, e.g. CAMERA-1            FRAMELINE_CAMERA_ID
  --ca-file FILE                  PEM CA that signed the broker cert   FRAMELINE_KAFKA_CA_FILE
  --password-file FILE            file holding the SCRAM password      FRAMELINE_KAFKA_PASSWORD_FILE
  --password-stdin                read the SCRAM password from stdin
  --username NAME                 SCRAM user (default agent)           FRAMELINE_KAFKA_USERNAME
  --delivery reliable|live        delivery mode (default reliable)     FRAMELINE_DELIVERY_MODE
  --source rpicam|file|synthetic  camera source (default rpicam)       FRAMELINE_CAMERA_SOURCE
  --release DIR|TARBALL           release to install (default: the one holding this script)
  --no-start                      enable the service but do not (re)start it now
  --dry-run                       print every action and change nothing
  --uninstall, --purge            see above

Without config options an existing /etc/frameline/agent.json is kept as it is.
EOF
}

say() { printf '%s\n' "$*"; }
die() {
  printf 'install.sh: %s\n' "$*" >&2
  exit 1
}

DRY_RUN=0
CHANGED=0
# run CMD...: do it, or with --dry-run only show it.
run() {
  if [ "$DRY_RUN" = 1 ]; then
    say "would run: $*"
  else
    say "+ $*"
    "$@"
  fi
}

# put_file SRC DEST MODE OWNER [secret]: install SRC as DEST unless it is already identical.
put_file() {
  if [ -f "$2" ] && cmp -s "$1" "$2" && [ "$(stat -c '%a %U:%G' "$2")" = "$3 $4" ]; then
    say "unchanged: $2"
    return
  fi
  if [ "$DRY_RUN" = 1 ]; then
    say "would write $2 (mode $3, owner $4):"
    if [ "${5:-}" = secret ]; then say "    (the password, $(wc -c <"$1") bytes, not shown)"; else sed 's/^/    /' "$1"; fi
    return
  fi
  CHANGED=1
  say "+ install -m $3 -o ${4%%:*} -g ${4##*:} $2"
  install -m "$3" -o "${4%%:*}" -g "${4##*:}" "$1" "$2.new"
  mv -f "$2.new" "$2"
}

BROKERS=${FRAMELINE_KAFKA_BROKERS:-}
CAMERA_ID=${FRAMELINE_CAMERA_ID:-}
CA_FILE=${FRAMELINE_KAFKA_CA_FILE:-}
PASSWORD_FILE=${FRAMELINE_KAFKA_PASSWORD_FILE:-}
USERNAME=${FRAMELINE_KAFKA_USERNAME:-}
DELIVERY=${FRAMELINE_DELIVERY_MODE:-}
SOURCE=${FRAMELINE_CAMERA_SOURCE:-}
PASSWORD_STDIN=0
RELEASE=
START=1
UNINSTALL=0
PURGE=0

need_arg() { [ $# -ge 2 ] || die "$1 needs a value (see --help)"; }
while [ $# -gt 0 ]; do
  case $1 in
    --broker) need_arg "$@"; BROKERS=$2; shift ;;
    --camera-id) need_arg "$@"; CAMERA_ID=$2; shift ;;
    --ca-file) need_arg "$@"; CA_FILE=$2; shift ;;
    --password-file) need_arg "$@"; PASSWORD_FILE=$2; shift ;;
    --password-stdin) PASSWORD_STDIN=1 ;;
    --username) need_arg "$@"; USERNAME=$2; shift ;;
    --delivery) need_arg "$@"; DELIVERY=$2; shift ;;
    --source) need_arg "$@"; SOURCE=$2; shift ;;
    --release) need_arg "$@"; RELEASE=$2; shift ;;
    --no-start) START=0 ;;
    --dry-run) DRY_RUN=1 ;;
    --uninstall) UNINSTALL=1 ;;
    --purge) PURGE=1 ;;
    --password) die "the password never goes on the command line (it would show in ps and shell history): use --password-file FILE or --password-stdin" ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift
done

[ "$(id -u)" = 0 ] || [ "$DRY_RUN" = 1 ] || die "run as root: sudo $0 ..."

SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT

systemd_running() { [ -d /run/systemd/system ]; }

uninstall() {
  if [ -f "$UNIT" ] || [ -L "/etc/systemd/system/multi-user.target.wants/$UNIT_NAME" ]; then
    if systemd_running; then run systemctl disable --now "$UNIT_NAME"; else run systemctl disable "$UNIT_NAME"; fi
  fi
  for f in "$UNIT" "$WRAPPER" "$CONFIG" "$PASSWORD" "$CA"; do
    if [ -e "$f" ] || [ -L "$f" ]; then run rm -f "$f"; fi
  done
  if [ -L "$CURRENT" ]; then run rm -f "$CURRENT"; fi
  for dir in "$RELEASES"/agent-*; do
    if [ -d "$dir" ]; then run rm -rf "$dir"; fi
  done
  for dir in "$RELEASES" "$PREFIX_OPT" "$ETC"; do
    if [ -d "$dir" ] && [ -z "$(ls -A "$dir")" ]; then run rmdir "$dir"; fi
  done
  if systemd_running; then run systemctl daemon-reload; fi
  if getent passwd "$USER_NAME" >/dev/null; then run userdel "$USER_NAME"; fi
  if [ -d "$STATE" ]; then
    if [ "$PURGE" = 1 ]; then run rm -rf "$STATE"; else say "kept the spool $STATE (remove it with --uninstall --purge)"; fi
  fi
  say "frameline-agent removed"
}

if [ "$UNINSTALL" = 1 ]; then
  uninstall
  exit 0
fi

# --- the release --------------------------------------------------------------
if [ -z "$RELEASE" ]; then
  RELEASE=$(cd "$(dirname "$0")/.." && pwd)
elif [ -f "$RELEASE" ]; then
  tar -xzf "$RELEASE" -C "$SCRATCH" || die "cannot unpack $RELEASE"
  RELEASE=$(find "$SCRATCH" -mindepth 1 -maxdepth 1 -type d | head -n 1)
fi
if [ ! -f "$RELEASE/RELEASE.json" ] || [ ! -f "$RELEASE/bin/frameline-agent.js" ]; then
  die "$RELEASE is not an unpacked frameline-agent release (no RELEASE.json); make one with \"npm run pack:agent\""
fi
release_field() { sed -n "s/^ *\"$1\": \"\\([^\"]*\\)\".*/\\1/p" "$RELEASE/RELEASE.json"; }
VERSION=$(release_field version)
RELEASE_CPU=$(release_field cpu)

case $(uname -m) in
  aarch64 | arm64) MACHINE_CPU=arm64 ;;
  x86_64 | amd64) MACHINE_CPU=x64 ;;
  armv7l | armv6l) MACHINE_CPU=arm ;;
  *) MACHINE_CPU=$(uname -m) ;;
esac
if [ "$RELEASE_CPU" != "$MACHINE_CPU" ]; then
  if [ "$MACHINE_CPU" = arm ]; then
    die "this is a 32-bit system; the agent needs 64-bit Raspberry Pi OS (arm64): flash it with Raspberry Pi Imager"
  fi
  die "the release is for linux-$RELEASE_CPU but this machine is $MACHINE_CPU: pack one with \"node scripts/pack.mjs agent --cpu $MACHINE_CPU\""
fi

# --- Node.js ------------------------------------------------------------------
NODE_VERSION=$("$NODE" --version 2>/dev/null || true)
NODE_VERSION=${NODE_VERSION#v}
if [ -z "$NODE_VERSION" ] || [ "${NODE_VERSION%%.*}" -lt "$MIN_NODE_MAJOR" ]; then
  # shellcheck source=/dev/null
  . /etc/os-release 2>/dev/null || true
  {
    say "install.sh: the agent needs Node.js $MIN_NODE_MAJOR or newer at $NODE; found ${NODE_VERSION:-none}."
    if [ "${VERSION_CODENAME:-}" = bookworm ]; then
      say "Debian/Raspberry Pi OS bookworm ships Node.js 18. Install Node.js 20 from NodeSource's apt repository:"
    else
      say "On Debian trixie: sudo apt-get install -y nodejs   (Node.js 20). Or from NodeSource's apt repository:"
    fi
    say "  sudo apt-get install -y ca-certificates curl gnupg"
    say "  sudo mkdir -p /etc/apt/keyrings"
    say "  curl -fsSL https://deb.nodesource.com/gpgkey/nodesource-repo.gpg.key | sudo gpg --dearmor -o /etc/apt/keyrings/nodesource.gpg"
    say "  echo 'deb [signed-by=/etc/apt/keyrings/nodesource.gpg] https://deb.nodesource.com/node_20.x nodistro main' | sudo tee /etc/apt/sources.list.d/nodesource.list"
    say "  sudo apt-get update && sudo apt-get install -y nodejs"
    say "then run this script again."
  } >&2
  exit 1
fi
say "Node.js $NODE_VERSION at $NODE; installing frameline-agent $VERSION (linux-$RELEASE_CPU)"

# --- inputs: all checked before anything changes -------------------------------
if [ "$PASSWORD_STDIN" = 1 ]; then
  # a trailing newline is dropped by the agent; nothing else is changed
  cat >"$SCRATCH/password"
  [ -s "$SCRATCH/password" ] || die "--password-stdin: nothing came on stdin"
  PASSWORD_FILE=$SCRATCH/password
fi
if [ -n "$PASSWORD_FILE" ]; then
  [ -s "$PASSWORD_FILE" ] || die "password file $PASSWORD_FILE is missing or empty"
elif [ ! -f "$PASSWORD" ]; then
  die "no password yet: give the SCRAM password of the agent user with --password-file FILE or --password-stdin"
fi
if [ -n "$CA_FILE" ]; then
  [ -s "$CA_FILE" ] || die "CA file $CA_FILE is missing or empty"
  grep -q 'BEGIN CERTIFICATE' "$CA_FILE" || die "CA file $CA_FILE holds no PEM certificate"
fi

WRITE_CONFIG=0
if [ -n "$BROKERS$CAMERA_ID$USERNAME$DELIVERY$SOURCE$CA_FILE" ] || [ ! -f "$CONFIG" ]; then
  WRITE_CONFIG=1
  [ -n "$BROKERS" ] || die "--broker HOST:PORT is needed to write $CONFIG (the broker's EXTERNAL listener, e.g. the terraform output)"
  CA_IN_CONFIG=""
  if [ -n "$CA_FILE" ] || [ -f "$CA" ]; then CA_IN_CONFIG=$CA; fi
  BROKERS=$(printf '%s' "$BROKERS" | tr -d ' ')
  CAMERA_ID=${CAMERA_ID:-CAMERA-1}
  USERNAME=${USERNAME:-agent}
  # Plain characters only, so the values go into JSON as they are; the agent checks the rest.
  printf '%s' "$BROKERS" | grep -Eqx '[][A-Za-z0-9.:_-]+:[0-9]+(,[][A-Za-z0-9.:_-]+:[0-9]+)*' ||
    die "--broker \"$BROKERS\" is not HOST:PORT[,HOST:PORT...]"
  printf '%s' "$CAMERA_ID" | grep -Eqx '[A-Za-z0-9][A-Za-z0-9._-]{0,63}' ||
    die "--camera-id \"$CAMERA_ID\" must be 1-64 letters, digits, \".\", \"_\" or \"-\", like CAMERA-1"
  printf '%s' "$USERNAME" | grep -Eqx '[A-Za-z0-9._@-]+' || die "--username \"$USERNAME\" has characters a SCRAM user here may not"
  case ${DELIVERY:=reliable} in reliable | live) ;; *) die "--delivery must be reliable or live, not \"$DELIVERY\"" ;; esac
  case ${SOURCE:=rpicam} in rpicam | file | synthetic) ;; *) die "--source must be rpicam, file or synthetic, not \"$SOURCE\"" ;; esac
  cat >"$SCRATCH/agent.json" <<EOF
// frameline-agent config, written by deploy/pi/install.sh. Every key: $CURRENT/deploy/agent.example.json
{
  "camera": { "id": "$CAMERA_ID", "source": "$SOURCE" },
  "kafka": {
    "brokers": ["$(printf '%s' "$BROKERS" | sed 's/,/", "/g')"],
    "security": "sasl_ssl",
    "username": "$USERNAME",
    "passwordFile": "credential:kafka-password",
    "caFile": "$CA_IN_CONFIG"
  },
  "delivery": { "mode": "$DELIVERY" },
  "stateDir": "$STATE"
}
EOF
fi

# --- user ---------------------------------------------------------------------
if ! getent passwd "$USER_NAME" >/dev/null; then
  run useradd --system --user-group --groups video --home-dir "$STATE" --no-create-home --shell /usr/sbin/nologin --comment frameline-agent "$USER_NAME"
elif ! id -nG "$USER_NAME" | tr ' ' '\n' | grep -qx video; then
  run usermod -a -G video "$USER_NAME"
else
  say "unchanged: user $USER_NAME (groups $(id -nG "$USER_NAME"))"
fi

# --- files of the release -----------------------------------------------------
TARGET=$RELEASES/agent-$VERSION
if [ -f "$TARGET/RELEASE.json" ] && cmp -s "$RELEASE/RELEASE.json" "$TARGET/RELEASE.json"; then
  say "unchanged: $TARGET"
else
  run mkdir -p "$RELEASES"
  run rm -rf "$TARGET.new"
  run cp -a "$RELEASE" "$TARGET.new"
  run chown -R root:root "$TARGET.new"
  run rm -rf "$TARGET"
  run mv "$TARGET.new" "$TARGET"
  CHANGED=1
fi
if [ "$(readlink "$CURRENT" 2>/dev/null || true)" = "$TARGET" ]; then
  say "unchanged: $CURRENT -> $TARGET"
else
  # a new link renamed over the old one: the switch is atomic
  run ln -sfn "$TARGET" "$CURRENT.new"
  run mv -T "$CURRENT.new" "$CURRENT"
  CHANGED=1
fi

cat >"$SCRATCH/wrapper" <<EOF
#!/bin/sh
# frameline-agent run | check-config | doctor. Outside systemd the password is
# read where LoadCredential= takes it from, so "sudo frameline-agent doctor" works.
: "\${CREDENTIALS_DIRECTORY:=$ETC}"
export CREDENTIALS_DIRECTORY
exec $NODE $CURRENT/bin/frameline-agent.js "\$@"
EOF
put_file "$SCRATCH/wrapper" "$WRAPPER" 755 root:root

# --- configuration --------------------------------------------------------------
if [ ! -d "$ETC" ]; then run mkdir -p "$ETC"; fi
if [ -n "$PASSWORD_FILE" ]; then put_file "$PASSWORD_FILE" "$PASSWORD" 600 root:root secret; else say "unchanged: $PASSWORD"; fi
if [ -n "$CA_FILE" ]; then put_file "$CA_FILE" "$CA" 644 root:root; fi
if [ "$WRITE_CONFIG" = 1 ]; then
  put_file "$SCRATCH/agent.json" "$CONFIG" 640 "root:$USER_NAME"
else
  say "unchanged: $CONFIG (no config options given)"
fi

if [ "$DRY_RUN" = 1 ]; then
  say "would run: $WRAPPER check-config --config $CONFIG"
elif [ "$CHANGED" = 0 ]; then
  say "unchanged: release and config, checked when they were installed"
else
  say "+ $WRAPPER check-config --config $CONFIG"
  "$WRAPPER" check-config --config "$CONFIG" >/dev/null || die "$CONFIG is not valid (see above); fix it or run this script with the right options"
fi

# --- the systemd unit ---------------------------------------------------------------
put_file "$RELEASE/deploy/$UNIT_NAME" "$UNIT" 644 root:root
if systemd_running; then run systemctl daemon-reload; fi
if [ -L "/etc/systemd/system/multi-user.target.wants/$UNIT_NAME" ]; then
  say "unchanged: $UNIT_NAME is enabled"
else
  run systemctl enable "$UNIT_NAME"
fi
if ! systemd_running; then
  say "systemd is not running here (a chroot or an image being built): $UNIT_NAME starts at the next boot"
elif [ "$START" = 1 ] && { [ "$CHANGED" = 1 ] || ! systemctl is-active --quiet "$UNIT_NAME"; }; then
  run systemctl restart "$UNIT_NAME"
fi

say ""
if [ "$DRY_RUN" = 1 ]; then
  say "dry run: nothing was changed"
  exit 0
fi
say "frameline-agent $VERSION is installed. Check it and watch it with:"
say "  sudo frameline-agent doctor"
say "  systemctl status frameline-agent"
say "  journalctl -u frameline-agent -f"
