# Offline checks of the module with a mocked AWS provider:
#   terraform init -backend=false && terraform test
# (npm test runs them through test/deploy/terraform-module.test.ts.)

mock_provider "aws" {
  # Mocked values must pass the provider's own checks (ARNs, ids) and the module's validations.
  mock_data "aws_partition" {
    defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012", arn = "arn:aws:iam::123456789012:user/test", user_id = "AIDATEST" }
  }
  mock_data "aws_ami" {
    defaults = { id = "ami-0123456789abcdef0", architecture = "arm64" }
  }
  mock_data "aws_vpc" {
    defaults = { id = "vpc-0123456789abcdef0", cidr_block = "172.31.0.0/16" }
  }
  mock_data "aws_subnets" {
    defaults = { ids = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2", "subnet-0aaaaaaaaaaaaaaa3"] }
  }
  mock_data "aws_subnet" {
    defaults = { vpc_id = "vpc-0123456789abcdef0", cidr_block = "172.31.0.0/20", availability_zone = "eu-central-1a" }
  }
  mock_resource "aws_ebs_volume" {
    defaults = { id = "vol-0123456789abcdef0" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/frameline-test" }
  }
  mock_resource "aws_iam_instance_profile" {
    defaults = { arn = "arn:aws:iam::123456789012:instance-profile/frameline-test" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { id = "frameline-releases-test", arn = "arn:aws:s3:::frameline-releases-test" }
  }
  mock_resource "aws_eip" {
    defaults = { public_ip = "203.0.113.10", public_dns = "ec2-203-0-113-10.eu-central-1.compute.amazonaws.com" }
  }
}

variables {
  region             = "eu-central-1"
  cluster_name       = "fltest"
  agent_cidrs        = ["198.51.100.7/32", "203.0.113.0/24"]
  cloud_release_path = "tests/fixtures/cloud-release.tar.gz"
}

run "one_broker_firewall_and_roles" {
  command = apply

  # EXTERNAL 9092: exactly the agent CIDRs, never the world.
  assert {
    condition     = toset([for r in aws_vpc_security_group_ingress_rule.external_from_agents : r.cidr_ipv4]) == toset(var.agent_cidrs)
    error_message = "9092 must be open to exactly var.agent_cidrs"
  }
  assert {
    condition     = alltrue([for r in aws_vpc_security_group_ingress_rule.external_from_agents : r.from_port == 9092 && r.to_port == 9092 && r.ip_protocol == "tcp" && r.cidr_ipv4 != "0.0.0.0/0"])
    error_message = "agent rules must open only tcp 9092, never to 0.0.0.0/0"
  }
  # INTERNAL 19092 and CONTROLLER 9093: only from security groups, no CIDR at all.
  assert {
    condition     = aws_vpc_security_group_ingress_rule.internal_from_consumers.referenced_security_group_id == aws_security_group.consumer.id && aws_vpc_security_group_ingress_rule.internal_from_consumers.cidr_ipv4 == null && aws_vpc_security_group_ingress_rule.internal_from_consumers.from_port == 19092
    error_message = "19092 must be open only to the consumers' security group"
  }
  assert {
    condition = alltrue([for r in [aws_vpc_security_group_ingress_rule.internal_between_brokers, aws_vpc_security_group_ingress_rule.controller_between_brokers] :
    r.referenced_security_group_id == aws_security_group.broker.id && r.cidr_ipv4 == null && r.cidr_ipv6 == null])
    error_message = "19092/9093 between brokers must reference the brokers' own security group"
  }
  # No SSH, and no rule other than the agents' touches 9092.
  assert {
    condition = alltrue([for r in concat(values(aws_vpc_security_group_ingress_rule.external_from_agents), [
      aws_vpc_security_group_ingress_rule.internal_from_consumers,
      aws_vpc_security_group_ingress_rule.internal_between_brokers,
      aws_vpc_security_group_ingress_rule.controller_between_brokers,
    ]) : !(r.from_port <= 22 && r.to_port >= 22) && r.ip_protocol == "tcp"])
    error_message = "no ingress rule may include port 22"
  }
  assert {
    condition = alltrue([for r in [
      aws_vpc_security_group_ingress_rule.internal_from_consumers,
      aws_vpc_security_group_ingress_rule.internal_between_brokers,
      aws_vpc_security_group_ingress_rule.controller_between_brokers,
    ] : !(r.from_port <= 9092 && r.to_port >= 9092)])
    error_message = "only the agent rules may open 9092"
  }

  # IMDSv2 on every instance, encrypted volumes.
  assert {
    condition     = alltrue([for i in concat(aws_instance.broker, aws_instance.consumer) : i.metadata_options[0].http_tokens == "required" && i.root_block_device[0].encrypted])
    error_message = "every instance must require IMDSv2 tokens and encrypt its root volume"
  }
  assert {
    condition     = alltrue([for v in aws_ebs_volume.kafka_data : v.encrypted && v.type == "gp3"])
    error_message = "every data volume must be encrypted gp3"
  }
  assert {
    condition     = length(aws_instance.consumer) == 1 && length(aws_instance.broker) == 1 && length(aws_eip.broker) == 1
    error_message = "defaults: one broker with one Elastic IP, one consumer"
  }

  # The broker role writes only under /frameline/<cluster>/; nothing else it holds can read or write parameters.
  assert {
    condition = alltrue(flatten([for s in jsondecode(aws_iam_role_policy.broker_parameters.policy).Statement : [
      for r in s.Resource : startswith(r, "arn:aws:ssm:eu-central-1:123456789012:parameter/frameline/fltest/")
    ]]))
    error_message = "the broker's parameter policy must cover only its own cluster path"
  }
  assert {
    condition = alltrue([for s in jsondecode(aws_iam_role_policy.session_manager["broker"].policy).Statement : alltrue([
      for a in s.Action : !startswith(a, "ssm:") || a == "ssm:UpdateInstanceInformation"
    ])])
    error_message = "the Session Manager policy must not grant parameter access"
  }
  assert {
    condition = alltrue([for s in jsondecode(aws_iam_role_policy.consumer_boot[0].policy).Statement : alltrue([
      for a in s.Action : a != "ssm:PutParameter"
    ])]) && contains(jsondecode(aws_iam_role_policy.consumer_boot[0].policy).Statement[0].Resource, "arn:aws:ssm:eu-central-1:123456789012:parameter/frameline/fltest/scram/cloud")
    error_message = "consumers may only read the cloud password"
  }

  # Rendered boot configuration of a single node.
  assert {
    condition     = strcontains(module.broker_user_data[0].kafka_env, "KAFKA_QUORUM_VOTERS=1@172.31.0.10:9093\n") && strcontains(module.broker_user_data[0].kafka_env, "KAFKA_REPLICATION_FACTOR=1\n") && strcontains(module.broker_user_data[0].kafka_env, "KAFKA_EXTERNAL_ADVERTISED_HOST=203.0.113.10\n")
    error_message = "one broker: a one-voter quorum at its fixed private IP, RF 1, the Elastic IP advertised"
  }
  assert {
    condition     = strcontains(module.broker_user_data[0].kafka_env, "KAFKA_PARTITIONS=12\n") && strcontains(module.broker_user_data[0].kafka_env, "KAFKA_DATA_VOLUME_ID=vol-0123456789abcdef0\n")
    error_message = "kafka.env must carry the partitions and the data volume"
  }
  assert {
    condition     = aws_instance.broker[0].user_data_base64 == module.broker_user_data[0].user_data_base64 && module.broker_user_data[0].user_data_bytes < 16384
    error_message = "the broker boots with the rendered user_data, under 16 KiB gzipped (EC2 counts it before base64)"
  }
  assert {
    condition     = strcontains(module.broker_user_data[0].script, "exec bash /opt/frameline/kafka/ec2-bootstrap.sh /etc/frameline/kafka.env")
    error_message = "the user_data must run the bootstrap with kafka.env"
  }

  # Outputs a user needs.
  assert {
    condition     = output.external_bootstrap == "203.0.113.10:9092" && output.internal_bootstrap == "172.31.0.10:19092"
    error_message = "bootstrap outputs"
  }
  assert {
    condition     = jsondecode(output.agent_config_json).kafka.security == "sasl_ssl" && jsondecode(output.agent_config_json).kafka.brokers == ["203.0.113.10:9092"]
    error_message = "agent config output"
  }
  assert {
    condition     = toset(keys(output.fetch_password_commands)) == toset(["agent", "cloud", "admin"]) && strcontains(output.fetch_ca_command, "/frameline/fltest/tls/ca.pem")
    error_message = "fetch command outputs"
  }
}

run "three_brokers_quorum" {
  command = apply

  variables {
    broker_count   = 3
    consumer_count = 2
  }

  override_data {
    target = data.aws_subnet.broker[1]
    values = { vpc_id = "vpc-0123456789abcdef0", cidr_block = "172.31.16.0/20", availability_zone = "eu-central-1b" }
  }
  override_data {
    target = data.aws_subnet.broker[2]
    values = { vpc_id = "vpc-0123456789abcdef0", cidr_block = "172.31.32.0/20", availability_zone = "eu-central-1c" }
  }
  override_resource {
    target = aws_eip.broker[1]
    values = { public_ip = "203.0.113.11", public_dns = "ec2-203-0-113-11.eu-central-1.compute.amazonaws.com" }
  }
  override_resource {
    target = aws_eip.broker[2]
    values = { public_ip = "203.0.113.12", public_dns = "ec2-203-0-113-12.eu-central-1.compute.amazonaws.com" }
  }

  assert {
    condition     = length(aws_instance.broker) == 3 && length(aws_eip.broker) == 3 && length(distinct(aws_eip.broker[*].public_ip)) == 3
    error_message = "three brokers with three distinct Elastic IPs"
  }
  assert {
    condition     = length(distinct(aws_instance.broker[*].private_ip)) == 3 && alltrue([for i, a in aws_eip_association.broker : a.instance_id == aws_instance.broker[i].id && a.allocation_id == aws_eip.broker[i].id]) && length(distinct(aws_ebs_volume.kafka_data[*].availability_zone)) == 3
    error_message = "three fixed private IPs, one data volume per zone"
  }
  assert {
    condition = alltrue([for i, m in module.broker_user_data : strcontains(m.kafka_env, "KAFKA_QUORUM_VOTERS=1@172.31.0.10:9093,2@172.31.16.11:9093,3@172.31.32.12:9093\n")
      && strcontains(m.kafka_env, "KAFKA_NODE_ID=${i + 1}\n") && strcontains(m.kafka_env, "KAFKA_NODE_COUNT=3\n")
    && strcontains(m.kafka_env, "KAFKA_EXTERNAL_ADVERTISED_HOST=${aws_eip.broker[i].public_ip}\n")])
    error_message = "every broker renders the same three-voter quorum, its own node id and its own Elastic IP"
  }
  assert {
    condition     = alltrue([for m in module.broker_user_data : strcontains(m.kafka_env, "KAFKA_REPLICATION_FACTOR=3\n") && strcontains(m.kafka_env, "KAFKA_MIN_ISR=2\n")])
    error_message = "three brokers: replication factor 3, min.insync.replicas 2"
  }
  assert {
    condition     = output.external_bootstrap == "203.0.113.10:9092,203.0.113.11:9092,203.0.113.12:9092" && length(jsondecode(output.cloud_config_json).kafka.brokers) == 3
    error_message = "outputs list all three brokers"
  }
  assert {
    condition     = length(aws_instance.consumer) == 2 && alltrue([for i in aws_instance.consumer : i.metadata_options[0].http_tokens == "required"])
    error_message = "two consumers, IMDSv2"
  }
}

run "rejects_the_world_on_9092" {
  command = plan
  variables {
    agent_cidrs = ["0.0.0.0/0"]
  }
  expect_failures = [var.agent_cidrs]
}

run "world_needs_explicit_opt_in" {
  command = plan
  variables {
    agent_cidrs                = ["0.0.0.0/0"]
    allow_agents_from_anywhere = true
  }
  assert {
    condition     = aws_vpc_security_group_ingress_rule.external_from_agents["0.0.0.0/0"].from_port == 9092
    error_message = "with the explicit opt-in, 0.0.0.0/0 reaches 9092 only"
  }
}

run "rejects_bad_cidr" {
  command = plan
  variables {
    agent_cidrs = ["203.0.113.7"]
  }
  expect_failures = [var.agent_cidrs]
}

run "rejects_two_brokers" {
  command = plan
  variables {
    broker_count = 2
  }
  expect_failures = [var.broker_count]
}

run "rejects_bad_cluster_name" {
  command = plan
  variables {
    cluster_name = "Frame_Line"
  }
  expect_failures = [var.cluster_name]
}

run "consumers_need_a_release" {
  command = plan
  variables {
    consumer_count     = 1
    cloud_release_path = ""
  }
  expect_failures = [var.cloud_release_path]
}

run "private_ips_match_broker_count" {
  command = plan
  variables {
    broker_private_ips = ["172.31.0.10"]
    broker_count       = 3
  }
  expect_failures = [var.broker_private_ips]
}

run "no_consumers_allowed" {
  command = plan
  variables {
    consumer_count     = 0
    cloud_release_path = ""
  }
  assert {
    condition     = length(aws_instance.consumer) == 0 && length(aws_s3_bucket.releases) == 0
    error_message = "consumer_count 0: no consumer instances, no release bucket"
  }
}
