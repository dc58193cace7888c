"""Drives a Cirrus EC2 endpoint with Debian's boto3, as a user's script would.

Reads ENDPOINT, KEY_ID, SECRET and OTHER_INSTANCE from the environment and
prints one JSON object of what it saw; the test (server/ec2/aws-tools.test.ts)
asserts on it.
"""
import datetime
import json
import os

import boto3
import botocore.auth
from botocore.config import Config
from botocore.exceptions import ClientError

endpoint = os.environ["ENDPOINT"]
config = Config(retries={"max_attempts": 1})


def client(secret=None):
    return boto3.client(
        "ec2",
        endpoint_url=endpoint,
        region_name="cirrus-1",
        aws_access_key_id=os.environ["KEY_ID"],
        aws_secret_access_key=secret or os.environ["SECRET"],
        config=config,
    )


def code_of(call):
    try:
        call()
    except ClientError as e:
        return e.response["Error"]["Code"]
    return None


ec2 = client()
out = {}
out["regions"] = [r["RegionName"] for r in ec2.describe_regions()["Regions"]]
run = ec2.run_instances(
    ImageId="cirrus-tiny-linux",
    InstanceType="tiny",
    MinCount=1,
    MaxCount=1,
    TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "boto"}, {"Key": "made-by", "Value": "boto3"}]}],
)
instance_id = run["Instances"][0]["InstanceId"]
out["launched"] = instance_id
waiter = ec2.get_waiter("instance_running")
waiter.wait(InstanceIds=[instance_id], WaiterConfig={"Delay": 2, "MaxAttempts": 60})
found = ec2.describe_instances(Filters=[{"Name": "tag:made-by", "Values": ["boto3"]}])
out["by_tag"] = [i["InstanceId"] for r in found["Reservations"] for i in r["Instances"]]
out["state"] = found["Reservations"][0]["Instances"][0]["State"]["Name"]
out["launch_time_is_datetime"] = isinstance(found["Reservations"][0]["Instances"][0]["LaunchTime"], datetime.datetime)
paged = ec2.get_paginator("describe_instances").paginate(PaginationConfig={"PageSize": 5})
out["paged"] = sorted(i["InstanceId"] for page in paged for r in page["Reservations"] for i in r["Instances"])

out["wrong_secret"] = code_of(lambda: client("0" * 40).describe_instances())
out["other_tenant"] = code_of(lambda: ec2.describe_instances(InstanceIds=[os.environ["OTHER_INSTANCE"]]))

# A request signed 20 minutes ago: botocore takes its signing time from datetime.
real_datetime = datetime.datetime


class TwentyMinutesAgo(real_datetime):
    @classmethod
    def utcnow(cls):
        return real_datetime.utcnow() - datetime.timedelta(minutes=20)


botocore.auth.datetime.datetime = TwentyMinutesAgo
out["expired"] = code_of(lambda: client().describe_instances())
botocore.auth.datetime.datetime = real_datetime

ec2.terminate_instances(InstanceIds=[instance_id])
ec2.get_waiter("instance_terminated").wait(InstanceIds=[instance_id], WaiterConfig={"Delay": 2, "MaxAttempts": 60})
out["terminated"] = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["State"]["Name"]
print(json.dumps(out))
