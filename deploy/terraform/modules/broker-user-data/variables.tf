# Inputs are the keys of /etc/frameline/kafka.env (deploy/terraform/README.md,
# "What a broker boots with"). No secrets: those are made on the broker.

variable "cluster_name" {
  type        = string
  description = "FRAMELINE_CLUSTER: the cluster's name, 1-32 of a-z, 0-9 and '-'."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,31}$", var.cluster_name))
    error_message = "cluster_name must be 1-32 characters of a-z, 0-9 and '-'."
  }
}

variable "ssm_prefix" {
  type        = string
  description = "FRAMELINE_SSM_PREFIX: SSM path holding the cluster's CA and passwords, /frameline/<cluster>."

  validation {
    condition     = can(regex("^/frameline/[a-z0-9][a-z0-9-]{0,31}$", var.ssm_prefix))
    error_message = "ssm_prefix must be /frameline/<cluster name>."
  }
}

variable "region" {
  type        = string
  description = "AWS_REGION of the SSM parameters."
}

variable "node_id" {
  type        = number
  description = "KAFKA_NODE_ID of this broker, 1..node_count."

  validation {
    condition     = contains([1, 2, 3], var.node_id)
    error_message = "node_id must be 1, 2 or 3."
  }
}

variable "private_ips" {
  type        = list(string)
  description = "Fixed private IPv4 of every broker, node 1 first: the KRaft quorum voters."

  validation {
    condition     = contains([1, 3], length(var.private_ips)) && alltrue([for ip in var.private_ips : can(regex("^([0-9]{1,3}\\.){3}[0-9]{1,3}$", ip))])
    error_message = "private_ips must list 1 or 3 IPv4 addresses."
  }
}

variable "external_host" {
  type        = string
  description = "KAFKA_EXTERNAL_ADVERTISED_HOST: this broker's Elastic IP (what the Pis dial; in its certificate)."

  validation {
    condition     = can(regex("^[A-Za-z0-9.-]+$", var.external_host))
    error_message = "external_host must be an IPv4 address or a DNS name."
  }
}

variable "external_dns" {
  type        = string
  description = "KAFKA_EXTERNAL_DNS: the Elastic IP's public DNS name (in the certificate), or empty."
  default     = ""

  validation {
    condition     = can(regex("^[A-Za-z0-9.-]*$", var.external_dns))
    error_message = "external_dns must be a DNS name or empty."
  }
}

variable "ports" {
  type        = object({ internal = number, external = number, controller = number })
  description = "KAFKA_INTERNAL_PORT, KAFKA_EXTERNAL_PORT and KAFKA_CONTROLLER_PORT."
  default     = { internal = 19092, external = 9092, controller = 9093 }
}

variable "partitions" {
  type        = number
  description = "KAFKA_PARTITIONS of the frame topics."
  default     = 12
}

variable "retention_hours" {
  type        = number
  description = "KAFKA_RETENTION_HOURS of frames."
  default     = 24
}

variable "heap" {
  type        = string
  description = "KAFKA_HEAP of the JVM, e.g. 1g."
  default     = "1g"

  validation {
    condition     = can(regex("^[0-9]+[mg]$", var.heap))
    error_message = "heap must look like 768m or 1g."
  }
}

variable "data_volume_id" {
  type        = string
  description = "KAFKA_DATA_VOLUME_ID: the EBS data volume (vol-...) the bootstrap mounts at /var/lib/kafka; \"none\" uses /var/lib/kafka as is (tests)."

  validation {
    condition     = var.data_volume_id == "none" || can(regex("^vol-[0-9a-f]{8,17}$", var.data_volume_id))
    error_message = "data_volume_id must be a volume id (vol-...) or \"none\"."
  }
}

variable "kafka_dir" {
  type        = string
  description = "Folder whose files (deploy/kafka, READMEs excepted) the user_data writes to /opt/frameline/kafka. Empty: the repository's deploy/kafka."
  default     = ""
}
