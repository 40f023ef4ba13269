"""Prints, as JSON, what the AWS API emulator at argv[1] holds in region argv[2]:
instances, volumes, addresses, security groups, IAM roles and instance profiles,
buckets. The Terraform tests check these for every resource of a kind, not only
the ones in Terraform's state."""
import json
import sys

import boto3

endpoint, region = sys.argv[1], sys.argv[2]
kw = dict(endpoint_url=endpoint, region_name=region, aws_access_key_id="moto", aws_secret_access_key="moto")
ec2, iam, s3 = boto3.client("ec2", **kw), boto3.client("iam", **kw), boto3.client("s3", **kw)

instances = [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
print(json.dumps({
    "instances": [{
        "id": i["InstanceId"], "state": i["State"]["Name"], "ami": i["ImageId"],
        "httpTokens": i.get("MetadataOptions", {}).get("HttpTokens"),
        "privateIp": i.get("PrivateIpAddress"),
    } for i in instances],
    "volumes": [{"id": v["VolumeId"], "encrypted": v["Encrypted"], "type": v["VolumeType"], "state": v["State"],
                 "attachments": [a["InstanceId"] for a in v.get("Attachments", [])]} for v in ec2.describe_volumes()["Volumes"]],
    "addresses": [{"publicIp": a["PublicIp"], "eni": a.get("NetworkInterfaceId")} for a in ec2.describe_addresses()["Addresses"]],
    "securityGroups": [{"id": g["GroupId"], "name": g["GroupName"], "ingress": g["IpPermissions"]} for g in ec2.describe_security_groups()["SecurityGroups"]],
    "roles": [r["RoleName"] for r in iam.list_roles()["Roles"]],
    "instanceProfiles": [p["InstanceProfileName"] for p in iam.list_instance_profiles()["InstanceProfiles"]],
    "buckets": [b["Name"] for b in s3.list_buckets()["Buckets"]],
}))
