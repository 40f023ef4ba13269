# ---------------------------------------------------------------- placement

variable "region" {
  type        = string
  description = "AWS region of the cluster, e.g. eu-central-1."
  default     = "eu-central-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-central-1."
  }
}

variable "cluster_name" {
  type        = string
  description = "Name of this frameline cluster: prefixes every resource and the SSM path /frameline/<name>. 1-32 of a-z, 0-9 and '-'."
  default     = "frameline"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,31}$", var.cluster_name))
    error_message = "cluster_name must be 1-32 characters of a-z, 0-9 and '-', starting with a letter or digit."
  }
}

variable "subnet_ids" {
  type        = list(string)
  description = "Subnets for brokers and consumers (public subnets of one VPC: the brokers' Elastic IPs need an internet gateway). Empty: the default VPC's default subnets. Broker N goes to subnet N modulo the list length."
  default     = []

  validation {
    condition     = alltrue([for s in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", s))])
    error_message = "subnet_ids must be subnet ids like subnet-0123456789abcdef0."
  }
}

variable "tags" {
  type        = map(string)
  description = "Extra tags on every resource."
  default     = {}
}

# ---------------------------------------------------------------- who may connect

variable "agent_cidrs" {
  type        = list(string)
  description = "IPv4 CIDRs of the Pis (their public NAT addresses) allowed to reach the EXTERNAL listener 9092 (TLS + SCRAM). Empty: nobody. 0.0.0.0/0 only together with allow_agents_from_anywhere = true."
  default     = []

  validation {
    condition     = alltrue([for c in var.agent_cidrs : can(cidrhost(c, 0)) && can(regex("^[0-9.]+/[0-9]+$", c))])
    error_message = "agent_cidrs must be IPv4 CIDRs such as 203.0.113.7/32."
  }

  validation {
    condition     = length(var.agent_cidrs) == length(distinct(var.agent_cidrs))
    error_message = "agent_cidrs must not repeat a CIDR."
  }

  validation {
    condition     = var.allow_agents_from_anywhere || alltrue([for c in var.agent_cidrs : try(tonumber(split("/", c)[1]) > 0, true)])
    error_message = "agent_cidrs must not contain 0.0.0.0/0 (or any /0) unless allow_agents_from_anywhere = true; list the Pis' public addresses instead."
  }
}

variable "allow_agents_from_anywhere" {
  type        = bool
  description = "Set true to accept 0.0.0.0/0 in agent_cidrs (Pis on changing mobile addresses). The listener still requires TLS and SCRAM, but the whole internet can try passwords."
  default     = false
}

# ---------------------------------------------------------------- brokers

variable "broker_count" {
  type        = number
  description = "Kafka nodes (KRaft broker+controller each): 1, or 3 for a three-voter quorum with replication factor 3 and min.insync.replicas 2."
  default     = 1

  validation {
    condition     = contains([1, 3], var.broker_count)
    error_message = "broker_count must be 1 or 3."
  }
}

variable "broker_instance_type" {
  type        = string
  description = "EC2 type of each broker. Graviton (t4g, m7g, ...) picks the arm64 Debian image, other types the amd64 one."
  default     = "t4g.small"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", var.broker_instance_type))
    error_message = "broker_instance_type must be an EC2 instance type such as t4g.small."
  }
}

variable "broker_ami_id" {
  type        = string
  description = "AMI of the brokers. Empty: the newest official Debian 12 (bookworm) image (owner 136693071363) for the instance type's architecture."
  default     = ""

  validation {
    condition     = var.broker_ami_id == "" || can(regex("^ami-[0-9a-f]{8,17}$", var.broker_ami_id))
    error_message = "broker_ami_id must be empty or an AMI id like ami-0123456789abcdef0."
  }
}

variable "broker_private_ips" {
  type        = list(string)
  description = "Fixed private IPv4 of each broker (they are the KRaft quorum voters, so they must be known before boot). Empty: host number broker_host_number+N of its subnet."
  default     = []

  validation {
    condition     = alltrue([for ip in var.broker_private_ips : can(regex("^([0-9]{1,3}\\.){3}[0-9]{1,3}$", ip))])
    error_message = "broker_private_ips must be IPv4 addresses such as 172.31.0.10."
  }

  validation {
    condition     = length(var.broker_private_ips) == 0 || length(var.broker_private_ips) == var.broker_count
    error_message = "broker_private_ips must be empty or list exactly broker_count addresses."
  }
}

variable "broker_host_number" {
  type        = number
  description = "Without broker_private_ips: broker N (0-based) gets host number broker_host_number + N in its subnet (AWS reserves hosts 0-3)."
  default     = 10

  validation {
    condition     = var.broker_host_number >= 4 && var.broker_host_number <= 250 && floor(var.broker_host_number) == var.broker_host_number
    error_message = "broker_host_number must be a whole number from 4 to 250."
  }
}

variable "data_volume_size_gib" {
  type        = number
  description = "Size of each broker's encrypted gp3 data volume (Kafka log dirs) in GiB. It outlives instance replacement; size it for frames_retention_hours of all cameras."
  default     = 100

  validation {
    condition     = var.data_volume_size_gib >= 8 && var.data_volume_size_gib <= 16384 && floor(var.data_volume_size_gib) == var.data_volume_size_gib
    error_message = "data_volume_size_gib must be a whole number from 8 to 16384."
  }
}

variable "kafka_heap" {
  type        = string
  description = "JVM heap of each broker (-Xmx/-Xms), e.g. 1g. Leave at least half of the instance's memory to the page cache."
  default     = "1g"

  validation {
    condition     = can(regex("^[0-9]+[mg]$", var.kafka_heap))
    error_message = "kafka_heap must be a number with m or g, such as 768m or 1g."
  }
}

variable "frame_partitions" {
  type        = number
  description = "Partitions of the frame topics. Partitions cap how many consumers share the work (one partition is read by one consumer of the group), and partitioning \"camera-index\" needs one partition per camera (camera N on partition N-1). Partitions can be added later, never removed."
  default     = 12

  validation {
    condition     = var.frame_partitions >= 1 && var.frame_partitions <= 1000 && floor(var.frame_partitions) == var.frame_partitions
    error_message = "frame_partitions must be a whole number from 1 to 1000."
  }
}

variable "frames_retention_hours" {
  type        = number
  description = "Hours the broker keeps frames (video is bulky and perishable)."
  default     = 24

  validation {
    condition     = var.frames_retention_hours >= 1 && var.frames_retention_hours <= 8760 && floor(var.frames_retention_hours) == var.frames_retention_hours
    error_message = "frames_retention_hours must be a whole number from 1 to 8760."
  }
}

# ---------------------------------------------------------------- consumers

variable "consumer_count" {
  type        = number
  description = "frameline-cloud instances, one consumer group on the INTERNAL listener. 0: none (run consumers elsewhere in the VPC). More consumers than frame_partitions sit idle."
  default     = 1

  validation {
    condition     = var.consumer_count >= 0 && var.consumer_count <= 20 && floor(var.consumer_count) == var.consumer_count
    error_message = "consumer_count must be a whole number from 0 to 20."
  }
}

variable "consumer_instance_type" {
  type        = string
  description = "EC2 type of each consumer (pose inference is CPU bound: compute-optimised Graviton by default). Its architecture must match the release tarball."
  default     = "c7g.large"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", var.consumer_instance_type))
    error_message = "consumer_instance_type must be an EC2 instance type such as c7g.large."
  }
}

variable "consumer_ami_id" {
  type        = string
  description = "AMI of the consumers. Empty: the newest official Debian 13 (trixie) image (owner 136693071363), whose nodejs package is Node 20."
  default     = ""

  validation {
    condition     = var.consumer_ami_id == "" || can(regex("^ami-[0-9a-f]{8,17}$", var.consumer_ami_id))
    error_message = "consumer_ami_id must be empty or an AMI id like ami-0123456789abcdef0."
  }
}

variable "cloud_release_path" {
  type        = string
  description = "Local path of the frameline-cloud release tarball (.tar.gz, built for the consumers' architecture, with bin/frameline-cloud.js at its top or under one top folder). Uploaded to the cluster's private bucket. Required when consumer_count > 0."
  default     = ""

  validation {
    condition     = var.cloud_release_path == "" || can(regex("\\.(tar\\.gz|tgz)$", var.cloud_release_path))
    error_message = "cloud_release_path must be empty or the path of a .tar.gz/.tgz release."
  }

  validation {
    condition     = var.consumer_count == 0 || var.cloud_release_path != ""
    error_message = "consumer_count > 0 needs cloud_release_path (the frameline-cloud release tarball the consumers install)."
  }
}
