# Instance roles. Session Manager gets only the channel permissions it needs
# (AmazonSSMManagedInstanceCore would also allow ssm:GetParameter on every
# parameter, i.e. let a consumer read the admin password). Brokers read and
# write only the cluster's own SSM path; consumers read only the cloud password.

data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}

locals {
  ssm_prefix     = "/frameline/${var.cluster_name}"
  ssm_arn_prefix = "arn:${data.aws_partition.current.partition}:ssm:${var.region}:${data.aws_caller_identity.current.account_id}:parameter${local.ssm_prefix}"

  ec2_assume_role = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ec2.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })

  session_manager_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid    = "SessionManagerChannel"
      Effect = "Allow"
      Action = [
        "ssm:UpdateInstanceInformation",
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
      ]
      Resource = "*"
    }]
  })
}

resource "aws_iam_role" "node" {
  for_each = {
    broker   = "frameline Kafka brokers of cluster ${var.cluster_name}"
    consumer = "frameline-cloud consumers of cluster ${var.cluster_name}"
  }
  name               = "${var.cluster_name}-${each.key}"
  description        = each.value
  assume_role_policy = local.ec2_assume_role
}

resource "aws_iam_role_policy" "session_manager" {
  for_each = aws_iam_role.node
  name     = "session-manager"
  role     = each.value.id
  policy   = local.session_manager_policy
}

resource "aws_iam_instance_profile" "node" {
  for_each = aws_iam_role.node
  name     = each.value.name
  role     = each.value.name
}

resource "aws_iam_role_policy" "broker_parameters" {
  name = "cluster-parameters"
  role = aws_iam_role.node["broker"].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "OwnClusterPath"
      Effect   = "Allow"
      Action   = ["ssm:GetParameter", "ssm:GetParameters", "ssm:PutParameter"]
      Resource = ["${local.ssm_arn_prefix}/*"]
    }]
  })
}

resource "aws_iam_role_policy" "consumer_boot" {
  count = var.consumer_count > 0 ? 1 : 0
  name  = "cloud-boot"
  role  = aws_iam_role.node["consumer"].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "CloudPassword"
        Effect   = "Allow"
        Action   = ["ssm:GetParameter"]
        Resource = ["${local.ssm_arn_prefix}/scram/cloud"]
      },
      {
        Sid      = "CloudRelease"
        Effect   = "Allow"
        Action   = ["s3:GetObject"]
        Resource = ["${aws_s3_bucket.releases[0].arn}/${aws_s3_object.cloud_release[0].key}"]
      },
    ]
  })
}
