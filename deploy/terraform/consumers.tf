# frameline-cloud instances: one consumer group on the brokers' INTERNAL
# listener. The release tarball travels through a private bucket of the cluster.

locals {
  consumer_ami = var.consumer_ami_id != "" ? var.consumer_ami_id : lookup(local.debian_ami_ids, "consumer", null)
  consumers    = var.consumer_count > 0

  cloud_config = {
    kafka = {
      brokers      = [for ip in local.broker_private_ips : "${ip}:${local.ports.internal}"]
      security     = "sasl_plaintext"
      username     = "cloud"
      passwordFile = "credential:kafka-password"
      groupId      = "frameline-cloud"
    }
    topics = { frames = "video.frames" }
    http   = { listen = "127.0.0.1:8080" }
  }
}

resource "aws_s3_bucket" "releases" {
  count         = local.consumers ? 1 : 0
  bucket_prefix = "${var.cluster_name}-releases-"
  # Only copies of local release tarballs live here.
  force_destroy = true
}

resource "aws_s3_bucket_public_access_block" "releases" {
  count                   = local.consumers ? 1 : 0
  bucket                  = aws_s3_bucket.releases[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "releases" {
  count  = local.consumers ? 1 : 0
  bucket = aws_s3_bucket.releases[0].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_object" "cloud_release" {
  count = local.consumers ? 1 : 0
  # Named by content, so a new release is a new object and new consumers.
  bucket      = aws_s3_bucket.releases[0].id
  key         = "cloud/frameline-cloud-${filesha256(var.cloud_release_path)}.tar.gz"
  source      = var.cloud_release_path
  source_hash = filemd5(var.cloud_release_path)

  depends_on = [aws_s3_bucket_server_side_encryption_configuration.releases]
}

resource "aws_instance" "consumer" {
  count                  = var.consumer_count
  ami                    = local.consumer_ami
  instance_type          = var.consumer_instance_type
  subnet_id              = local.subnet_ids[count.index % length(local.subnet_ids)]
  vpc_security_group_ids = [aws_security_group.consumer.id]
  iam_instance_profile   = aws_iam_instance_profile.node["consumer"].name

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  root_block_device {
    volume_type = "gp3"
    volume_size = 20
    encrypted   = true
  }

  user_data_base64 = base64gzip(templatefile("${path.module}/templates/consumer-user-data.sh.tftpl", {
    region         = var.region
    password_param = "${local.ssm_prefix}/scram/cloud"
    release_s3_url = "s3://${aws_s3_bucket.releases[0].id}/${aws_s3_object.cloud_release[0].key}"
    release_sha256 = filesha256(var.cloud_release_path)
    cloud_json     = jsonencode(local.cloud_config)
    unit           = file("${path.module}/../systemd/frameline-cloud.service")
  }))
  user_data_replace_on_change = true

  tags = { Name = "${var.cluster_name}-consumer-${count.index + 1}" }

  # After the brokers: their fixed private IPs must be taken before EC2 hands out addresses to others.
  depends_on = [aws_iam_role_policy.consumer_boot, aws_instance.broker]
}
