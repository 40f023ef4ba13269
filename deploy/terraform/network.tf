# Placement and firewall. The only ways in: 9092 (TLS + SCRAM) from the Pis'
# CIDRs, 19092 from the consumers and the brokers, 9093 between brokers. No SSH:
# shells go through SSM Session Manager.

data "aws_vpc" "default" {
  count   = length(var.subnet_ids) == 0 ? 1 : 0
  default = true
}

data "aws_subnets" "default" {
  count = length(var.subnet_ids) == 0 ? 1 : 0

  filter {
    name   = "vpc-id"
    values = [data.aws_vpc.default[0].id]
  }

  filter {
    name   = "default-for-az"
    values = ["true"]
  }
}

locals {
  subnet_ids = length(var.subnet_ids) > 0 ? var.subnet_ids : sort(data.aws_subnets.default[0].ids)
  ports      = { internal = 19092, external = 9092, controller = 9093 }
}

# Broker N (0-based) in subnet N modulo the list, so three brokers span three zones when there are three.
data "aws_subnet" "broker" {
  count = var.broker_count
  id    = local.subnet_ids[count.index % length(local.subnet_ids)]
}

resource "aws_security_group" "broker" {
  name        = "${var.cluster_name}-broker"
  description = "frameline Kafka brokers of cluster ${var.cluster_name}"
  vpc_id      = data.aws_subnet.broker[0].vpc_id
  tags        = { Name = "${var.cluster_name}-broker" }
}

resource "aws_security_group" "consumer" {
  name        = "${var.cluster_name}-consumer"
  description = "frameline-cloud consumers of cluster ${var.cluster_name} (no ingress)"
  vpc_id      = data.aws_subnet.broker[0].vpc_id
  tags        = { Name = "${var.cluster_name}-consumer" }
}

resource "aws_vpc_security_group_ingress_rule" "external_from_agents" {
  for_each          = toset(var.agent_cidrs)
  security_group_id = aws_security_group.broker.id
  description       = "EXTERNAL listener (SASL_SSL) from Pis in ${each.value}"
  ip_protocol       = "tcp"
  from_port         = local.ports.external
  to_port           = local.ports.external
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_ingress_rule" "internal_from_consumers" {
  security_group_id            = aws_security_group.broker.id
  description                  = "INTERNAL listener (SASL_PLAINTEXT) from frameline-cloud consumers"
  ip_protocol                  = "tcp"
  from_port                    = local.ports.internal
  to_port                      = local.ports.internal
  referenced_security_group_id = aws_security_group.consumer.id
}

resource "aws_vpc_security_group_ingress_rule" "internal_between_brokers" {
  security_group_id            = aws_security_group.broker.id
  description                  = "INTERNAL listener between brokers (replication)"
  ip_protocol                  = "tcp"
  from_port                    = local.ports.internal
  to_port                      = local.ports.internal
  referenced_security_group_id = aws_security_group.broker.id
}

resource "aws_vpc_security_group_ingress_rule" "controller_between_brokers" {
  security_group_id            = aws_security_group.broker.id
  description                  = "KRaft CONTROLLER listener between brokers"
  ip_protocol                  = "tcp"
  from_port                    = local.ports.controller
  to_port                      = local.ports.controller
  referenced_security_group_id = aws_security_group.broker.id
}

# Out: Debian mirrors, Maven Central, SSM, S3.
resource "aws_vpc_security_group_egress_rule" "broker_all" {
  security_group_id = aws_security_group.broker.id
  description       = "packages, Maven Central, SSM"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "consumer_all" {
  security_group_id = aws_security_group.consumer.id
  description       = "packages, S3, SSM, the brokers"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}
