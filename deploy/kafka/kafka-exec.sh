#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The broker process on a broker host: ExecStart of kafka.service, and what
# ec2-bootstrap.sh runs as user kafka where systemd is not PID 1. The heap
# comes from KAFKA_HEAP (the unit's EnvironmentFile, /etc/frameline/kafka.env).
set -euo pipefail
lib_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$lib_here/lib.sh"
ec2_paths
broker_command "$conf_dir/server.properties" "$data_root/logs" "${KAFKA_HEAP:-1g}"
exec "${broker_cmd[@]}"
