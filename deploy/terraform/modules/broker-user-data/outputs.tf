output "kafka_env" {
  description = "The /etc/frameline/kafka.env this broker boots with (KEY=VALUE lines, no secrets)."
  value       = local.kafka_env_text
}

output "script" {
  description = "The user_data script before compression: writes deploy/kafka to /opt/frameline/kafka and kafka.env, then runs ec2-bootstrap.sh."
  value       = local.script
}

output "files" {
  description = "The deploy/kafka files embedded in the script, relative paths."
  value       = local.kafka_files
}

output "user_data_base64" {
  description = "The script gzipped and base64-encoded, as EC2 receives it (aws_instance.user_data_base64)."
  value       = local.user_data_base64

  precondition {
    condition     = contains(local.kafka_files, "ec2-bootstrap.sh")
    error_message = "ec2-bootstrap.sh is missing from ${local.kafka_dir}: the broker would boot without its bootstrap. Check out the whole repository."
  }

  # EC2 refuses user_data over 16 KiB in raw form (the gzip bytes; base64 is only the transport).
  precondition {
    condition     = local.user_data_bytes < 16384
    error_message = "The broker user_data is ${local.user_data_bytes} bytes gzipped (${length(local.user_data_base64)} as base64), over EC2's 16384: keep large files out of deploy/kafka."
  }
}

output "user_data_bytes" {
  description = "Size of the user_data as EC2 counts it against its 16384-byte limit: the gzip bytes, before base64."
  value       = local.user_data_bytes
}
