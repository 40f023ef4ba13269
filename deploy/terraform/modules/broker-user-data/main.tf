# Renders one broker's first-boot user_data: no provider, no resources, so a
# test can render it offline (test/deploy/terraform-support.ts) exactly as the
# cluster module does.

locals {
  kafka_dir = var.kafka_dir != "" ? var.kafka_dir : "${path.module}/../../../kafka"
  # Every file the bootstrap might need, without depending on their names; docs and the
  # local runner (kafka.sh, never run on EC2) stay behind: together they would not fit in 16 KiB.
  kafka_files = sort([for f in fileset(local.kafka_dir, "**") : f if !endswith(f, ".md") && !endswith(f, ".d.mts") && f != "kafka.sh"])

  node_count = length(var.private_ips)

  kafka_env = {
    FRAMELINE_CLUSTER              = var.cluster_name
    FRAMELINE_SSM_PREFIX           = var.ssm_prefix
    AWS_REGION                     = var.region
    KAFKA_NODE_ID                  = var.node_id
    KAFKA_NODE_COUNT               = local.node_count
    KAFKA_QUORUM_VOTERS            = join(",", [for i, ip in var.private_ips : "${i + 1}@${ip}:${var.ports.controller}"])
    KAFKA_PRIVATE_IP               = var.private_ips[var.node_id - 1]
    KAFKA_EXTERNAL_ADVERTISED_HOST = var.external_host
    KAFKA_EXTERNAL_DNS             = var.external_dns
    KAFKA_INTERNAL_PORT            = var.ports.internal
    KAFKA_EXTERNAL_PORT            = var.ports.external
    KAFKA_CONTROLLER_PORT          = var.ports.controller
    KAFKA_PARTITIONS               = var.partitions
    # Three nodes: every frame on all three, acknowledged by two, so one broker may be down.
    KAFKA_REPLICATION_FACTOR = local.node_count == 3 ? 3 : 1
    KAFKA_MIN_ISR            = local.node_count == 3 ? 2 : 1
    KAFKA_RETENTION_HOURS    = var.retention_hours
    KAFKA_HEAP               = var.heap
    KAFKA_DATA_VOLUME_ID     = var.data_volume_id
  }
  kafka_env_text = join("", [for k in sort(keys(local.kafka_env)) : "${k}=${local.kafka_env[k]}\n"])

  script = templatefile("${path.module}/user-data.sh.tftpl", {
    node_id    = var.node_id
    node_count = local.node_count
    cluster    = var.cluster_name
    kafka_env  = local.kafka_env_text
    # Single-quoted for bash: the bytes land unchanged, whatever they contain.
    files = [for f in local.kafka_files : {
      path   = f
      mode   = endswith(f, ".sh") ? "0755" : "0644"
      quoted = "'${replace(file("${local.kafka_dir}/${f}"), "'", "'\\''")}'"
    }]
  })
  # cloud-init unpacks gzip user_data itself; base64 is how EC2 takes it.
  user_data_base64 = base64gzip(local.script)
  # EC2 counts user_data in raw form, before base64: here the gzip bytes the base64 text decodes to.
  user_data_bytes = length(local.user_data_base64) / 4 * 3 - (endswith(local.user_data_base64, "==") ? 2 : endswith(local.user_data_base64, "=") ? 1 : 0)
}
