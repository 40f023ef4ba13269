# Kafka nodes. Each keeps its addresses and data across instance replacement:
# the private IP is fixed, the Elastic IP and the EBS volume are separate
# resources, so a new instance (new AMI, new user_data) finds the same log dirs
# and identity.

locals {
  broker_ami = var.broker_ami_id != "" ? var.broker_ami_id : lookup(local.debian_ami_ids, "broker", null)

  broker_private_ips = length(var.broker_private_ips) > 0 ? var.broker_private_ips : [
    for i in range(var.broker_count) : cidrhost(data.aws_subnet.broker[i].cidr_block, var.broker_host_number + i)
  ]
}

# Official Debian images (owner 136693071363): bookworm for the brokers (Java 17), trixie for the
# consumers (Node 20). Graviton families have a "g" right after the generation digit (t4g, c7gn).
locals {
  debian_images = {
    for role, image in {
      broker   = { release = 12, type = var.broker_instance_type, wanted = var.broker_ami_id == "" }
      consumer = { release = 13, type = var.consumer_instance_type, wanted = var.consumer_ami_id == "" && var.consumer_count > 0 }
    } : role => merge(image, { arm = can(regex("^[a-z]+[0-9]+g", image.type)) }) if image.wanted
  }
  debian_ami_ids = { for role, ami in data.aws_ami.debian : role => ami.id }
}

data "aws_ami" "debian" {
  for_each    = local.debian_images
  most_recent = true
  owners      = ["136693071363"]

  filter {
    name   = "name"
    values = ["debian-${each.value.release}-${each.value.arm ? "arm64" : "amd64"}-*"]
  }

  filter {
    name   = "architecture"
    values = [each.value.arm ? "arm64" : "x86_64"]
  }
}

resource "aws_eip" "broker" {
  count  = var.broker_count
  domain = "vpc"
  tags   = { Name = "${var.cluster_name}-broker-${count.index + 1}" }
}

resource "aws_eip_association" "broker" {
  count         = var.broker_count
  allocation_id = aws_eip.broker[count.index].id
  instance_id   = aws_instance.broker[count.index].id
}

resource "aws_ebs_volume" "kafka_data" {
  count             = var.broker_count
  availability_zone = data.aws_subnet.broker[count.index].availability_zone
  type              = "gp3"
  size              = var.data_volume_size_gib
  encrypted         = true
  tags              = { Name = "${var.cluster_name}-broker-${count.index + 1}-data" }
}

module "broker_user_data" {
  source = "./modules/broker-user-data"
  count  = var.broker_count

  cluster_name    = var.cluster_name
  ssm_prefix      = local.ssm_prefix
  region          = var.region
  node_id         = count.index + 1
  private_ips     = local.broker_private_ips
  external_host   = aws_eip.broker[count.index].public_ip
  external_dns    = aws_eip.broker[count.index].public_dns
  ports           = local.ports
  partitions      = var.frame_partitions
  retention_hours = var.frames_retention_hours
  heap            = var.kafka_heap
  data_volume_id  = aws_ebs_volume.kafka_data[count.index].id
}

resource "aws_instance" "broker" {
  count                = var.broker_count
  ami                  = local.broker_ami
  instance_type        = var.broker_instance_type
  iam_instance_profile = aws_iam_instance_profile.node["broker"].name

  subnet_id              = data.aws_subnet.broker[count.index].id
  private_ip             = local.broker_private_ips[count.index]
  vpc_security_group_ids = [aws_security_group.broker.id]

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  root_block_device {
    volume_type = "gp3"
    volume_size = 16
    encrypted   = true
  }

  # Runs once, at first boot: a changed script only takes effect on a new instance.
  user_data_base64            = module.broker_user_data[count.index].user_data_base64
  user_data_replace_on_change = true

  tags = { Name = "${var.cluster_name}-broker-${count.index + 1}" }
}

resource "aws_volume_attachment" "kafka_data" {
  count                          = var.broker_count
  device_name                    = "/dev/sdf"
  volume_id                      = aws_ebs_volume.kafka_data[count.index].id
  instance_id                    = aws_instance.broker[count.index].id
  stop_instance_before_detaching = true
}
