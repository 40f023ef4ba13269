# Terraform 1.9+ for validations that compare two variables; the AWS provider alone
# (no tls/random: every secret is made on the broker at first boot).
terraform {
  required_version = ">= 1.9.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100.0"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.tags, { "frameline:cluster" = var.cluster_name })
  }
}
