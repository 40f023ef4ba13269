locals {
  fetch = "aws ssm get-parameter --region ${var.region} --with-decryption --query Parameter.Value --output text --name"
  agent_config = {
    camera = { id = "CAMERA-1", source = "rpicam" }
    kafka = {
      brokers      = [for eip in aws_eip.broker : "${eip.public_ip}:${local.ports.external}"]
      security     = "sasl_ssl"
      username     = "agent"
      passwordFile = "credential:kafka-password"
      caFile       = "/etc/frameline/ca.pem"
    }
    delivery = { mode = "reliable" }
  }
}

output "external_bootstrap" {
  description = "EXTERNAL listener (TLS + SCRAM) of every broker, for the Pis: the Elastic IPs, port 9092."
  value       = join(",", local.agent_config.kafka.brokers)
}

output "internal_bootstrap" {
  description = "INTERNAL listener (SCRAM, inside the VPC) of every broker, for consumers: fixed private IPs, port 19092."
  value       = join(",", local.cloud_config.kafka.brokers)
}

output "ssm_prefix" {
  description = "SSM path of the cluster's CA and passwords (made by broker 1 at first boot)."
  value       = local.ssm_prefix
}

output "fetch_ca_command" {
  description = "Writes the CA certificate the Pis trust to ca.pem (works once broker 1 has booted)."
  value       = "${local.fetch} ${local.ssm_prefix}/tls/ca.pem > ca.pem"
}

output "fetch_password_commands" {
  description = "Per SCRAM user, the command that writes its password to a file with mode 0600."
  value = { for user in ["agent", "cloud", "admin"] :
    user => "(umask 077; ${local.fetch} ${local.ssm_prefix}/scram/${user} > ${user}.password)"
  }
}

output "agent_config_json" {
  description = "A ready /etc/frameline/agent.json for a Pi: set camera.id per Pi; ca.pem and the agent password go beside it (see README)."
  value       = jsonencode(local.agent_config)
}

output "cloud_config_json" {
  description = "The /etc/frameline/cloud.json the consumers run with (also usable by consumers you run elsewhere in the VPC)."
  value       = jsonencode(local.cloud_config)
}

output "brokers" {
  description = "Per broker: node id, instance, fixed private IP, Elastic IP and its DNS name, data volume."
  value = [for i in range(var.broker_count) : {
    node_id        = i + 1
    instance_id    = aws_instance.broker[i].id
    private_ip     = local.broker_private_ips[i]
    public_ip      = aws_eip.broker[i].public_ip
    public_dns     = aws_eip.broker[i].public_dns
    data_volume_id = aws_ebs_volume.kafka_data[i].id
  }]
}

output "broker_kafka_env" {
  description = "Per broker, the /etc/frameline/kafka.env its user_data writes (no secrets)."
  value       = module.broker_user_data[*].kafka_env
}

output "consumer_instance_ids" {
  description = "frameline-cloud instances."
  value       = aws_instance.consumer[*].id
}

output "session_commands" {
  description = "Shell on each instance through SSM Session Manager (there is no SSH)."
  value       = [for i in concat(aws_instance.broker, aws_instance.consumer) : "aws ssm start-session --region ${var.region} --target ${i.id}"]
}
