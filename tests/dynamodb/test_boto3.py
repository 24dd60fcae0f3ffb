"""DynamoDB interop: boto3 (client and resource APIs), the dynamodbstreams client and the
AWS CLI against redyn's DynamoDB port, with the same data read back over RESP (redis-py).

    python3 test_boto3.py <dynamodb port> <resp port> <secured dynamodb port>

The secured server runs with `--requirepass secret` and checks SigV4 signatures.
"""

import json
import os
import subprocess
import sys
from decimal import Decimal

import boto3
import botocore.config
import redis
from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

DDB_PORT, RESP_PORT, SECURE_PORT = (int(p) for p in sys.argv[1:4])
ENDPOINT = f"http://127.0.0.1:{DDB_PORT}"
NO_RETRIES = botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"})


def session(key="default", secret="anything"):
    return boto3.session.Session(
        aws_access_key_id=key, aws_secret_access_key=secret, region_name="us-east-1"
    )


client = session().client("dynamodb", endpoint_url=ENDPOINT)
resource = session().resource("dynamodb", endpoint_url=ENDPOINT)
streams = session().client("dynamodbstreams", endpoint_url=ENDPOINT)
resp = redis.Redis(port=RESP_PORT, decode_responses=True)


def error_code(call):
    try:
        call()
    except ClientError as e:
        return e.response["Error"]["Code"], e
    raise AssertionError("the call did not fail")


def test_create_table_secondary_indexes_refused():
    code, e = error_code(
        lambda: client.create_table(
            TableName="WithIndex",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "g", "AttributeType": "S"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "byG",
                    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
    )
    assert code == "ValidationException", code
    assert "GlobalSecondaryIndexes are not supported" in str(e)


def test_create_tables():
    table = resource.create_table(
        TableName="Users",
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    table.wait_until_exists()
    assert table.table_status == "ACTIVE"
    client.create_table(
        TableName="Events",
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
    )
    names = client.list_tables()["TableNames"]
    assert names == ["Events", "Users"], names


def test_put_get_update_with_expressions():
    users = resource.Table("Users")
    users.put_item(Item={"pk": "u1", "sk": 1, "name": "Ada", "tags": {"a", "b"}})
    item = users.get_item(Key={"pk": "u1", "sk": 1})["Item"]
    assert item == {"pk": "u1", "sk": Decimal(1), "name": "Ada", "tags": {"a", "b"}}, item
    out = users.update_item(
        Key={"pk": "u1", "sk": 1},
        UpdateExpression="SET #n = :n ADD visits :one",
        ExpressionAttributeNames={"#n": "name"},
        ExpressionAttributeValues={":n": "Ada L.", ":one": 1},
        ReturnValues="UPDATED_NEW",
    )
    assert out["Attributes"] == {"name": "Ada L.", "visits": Decimal(1)}, out
    old = users.put_item(Item={"pk": "u1", "sk": 2, "name": "Bob"}, ReturnValues="ALL_OLD")
    assert "Attributes" not in old
    projected = client.get_item(
        TableName="Users",
        Key={"pk": {"S": "u1"}, "sk": {"N": "1"}},
        ProjectionExpression="visits",
    )["Item"]
    assert projected == {"visits": {"N": "1"}}, projected


def test_conditional_writes_fail_with_the_right_exception():
    users = resource.Table("Users")
    try:
        users.put_item(
            Item={"pk": "u1", "sk": 1, "name": "Mallory"},
            ConditionExpression=Attr("pk").not_exists(),
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        raise AssertionError("the condition should have failed")
    except users.meta.client.exceptions.ConditionalCheckFailedException as e:
        assert e.response["Item"]["name"] == {"S": "Ada L."}, e.response
    code, _ = error_code(
        lambda: users.update_item(
            Key={"pk": "u1", "sk": 1},
            UpdateExpression="SET visits = visits + :one",
            ConditionExpression=Attr("visits").gt(5),
            ExpressionAttributeValues={":one": 1},
        )
    )
    assert code == "ConditionalCheckFailedException", code
    assert users.get_item(Key={"pk": "u1", "sk": 1})["Item"]["visits"] == 1


def test_batch_writer_and_paginators():
    events = resource.Table("Events")
    with events.batch_writer() as batch:
        for i in range(1000):
            batch.put_item(Item={"pk": "e", "sk": i, "payload": "x" * 20})
    pages = client.get_paginator("query").paginate(
        TableName="Events",
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "e"}},
        PaginationConfig={"PageSize": 100},
    )
    counts = [page["Count"] for page in pages]
    assert sum(counts) == 1000 and len(counts) >= 10, counts
    ten = events.query(KeyConditionExpression=Key("pk").eq("e") & Key("sk").between(10, 19))
    assert [int(i["sk"]) for i in ten["Items"]] == list(range(10, 20))
    newest = events.query(KeyConditionExpression=Key("pk").eq("e"), ScanIndexForward=False, Limit=3)
    assert [int(i["sk"]) for i in newest["Items"]] == [999, 998, 997]
    scanned = 0
    for page in client.get_paginator("scan").paginate(
        TableName="Events",
        FilterExpression="sk < :n",
        ExpressionAttributeValues={":n": {"N": "50"}},
        PaginationConfig={"PageSize": 250},
    ):
        scanned += page["Count"]
    assert scanned == 50, scanned
    table_names = [n for page in client.get_paginator("list_tables").paginate() for n in page["TableNames"]]
    assert "Events" in table_names


def test_transactions_report_cancellation_reasons():
    try:
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "Users", "Item": {"pk": {"S": "t1"}, "sk": {"N": "1"}}}},
                {
                    "ConditionCheck": {
                        "TableName": "Users",
                        "Key": {"pk": {"S": "u1"}, "sk": {"N": "1"}},
                        "ConditionExpression": "visits > :v",
                        "ExpressionAttributeValues": {":v": {"N": "10"}},
                    }
                },
            ]
        )
        raise AssertionError("the transaction should have been cancelled")
    except client.exceptions.TransactionCanceledException as e:
        codes = [r["Code"] for r in e.response["CancellationReasons"]]
        assert codes == ["None", "ConditionalCheckFailed"], codes
    assert "Item" not in client.get_item(TableName="Users", Key={"pk": {"S": "t1"}, "sk": {"N": "1"}})
    client.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "Users", "Item": {"pk": {"S": "t1"}, "sk": {"N": "1"}}}},
            {"Update": {"TableName": "Users", "Key": {"pk": {"S": "u1"}, "sk": {"N": "2"}},
                        "UpdateExpression": "SET friend = :f",
                        "ExpressionAttributeValues": {":f": {"S": "t1"}}}},
        ]
    )
    got = client.transact_get_items(
        TransactItems=[{"Get": {"TableName": "Users", "Key": {"pk": {"S": "u1"}, "sk": {"N": "2"}}}}]
    )
    assert got["Responses"][0]["Item"]["friend"] == {"S": "t1"}


def test_stream_records_with_the_streams_client():
    arn = client.describe_table(TableName="Users")["Table"]["LatestStreamArn"]
    listed = streams.list_streams(TableName="Users")["Streams"]
    assert [s["StreamArn"] for s in listed] == [arn], listed
    desc = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert desc["StreamStatus"] == "ENABLED" and desc["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    shard = desc["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = []
    while iterator:
        page = streams.get_records(ShardIterator=iterator, Limit=2)
        records += page["Records"]
        if not page["Records"]:
            break
        iterator = page["NextShardIterator"]
    events = [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"], r["dynamodb"]["Keys"]["sk"]["N"]) for r in records]
    assert events[:3] == [("INSERT", "u1", "1"), ("MODIFY", "u1", "1"), ("INSERT", "u1", "2")], events
    assert records[1]["dynamodb"]["OldImage"]["name"] == {"S": "Ada"}
    assert records[1]["dynamodb"]["NewImage"]["name"] == {"S": "Ada L."}
    # The same records over RESP: the change log read with XRANGE.
    entries = resp.xrange("__stream__:Users", "-", "+")
    assert len(entries) == len(records), (len(entries), len(records))
    assert json.loads(entries[0][1]["record"])["dynamodb"]["SequenceNumber"] == records[0]["dynamodb"]["SequenceNumber"]
    seq = records[0]["dynamodb"]["SequenceNumber"]
    after = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard, ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=seq
    )["ShardIterator"]
    assert len(streams.get_records(ShardIterator=after)["Records"]) == len(records) - 1


def test_items_read_back_over_resp():
    reply = json.loads(
        resp.execute_command("DDB.GETITEM", json.dumps({"TableName": "Users", "Key": {"pk": {"S": "u1"}, "sk": {"N": "1"}}}))
    )
    assert reply["Item"]["name"] == {"S": "Ada L."}, reply
    assert sorted(reply["Item"]["tags"]["SS"]) == ["a", "b"], reply
    count = json.loads(resp.execute_command("DDB.QUERY", json.dumps({
        "TableName": "Events", "KeyConditionExpression": "pk = :p",
        "ExpressionAttributeValues": {":p": {"S": "e"}}, "Select": "COUNT"})))
    assert count["Count"] == 1000, count
    resp.execute_command("DDB.PUTITEM", json.dumps({"TableName": "Users", "Item": {"pk": {"S": "r1"}, "sk": {"N": "1"}, "via": {"S": "resp"}}}))
    assert resource.Table("Users").get_item(Key={"pk": "r1", "sk": 1})["Item"]["via"] == "resp"


def aws_cli(*args):
    env = dict(os.environ, AWS_ACCESS_KEY_ID="default", AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION="us-east-1")
    out = subprocess.run(
        ["aws", "dynamodb", *args, "--endpoint-url", ENDPOINT, "--output", "json"],
        env=env, capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout)


def test_aws_cli_lists_and_describes_tables():
    assert "Users" in aws_cli("list-tables")["TableNames"]
    table = aws_cli("describe-table", "--table-name", "Events")["Table"]
    assert table["ItemCount"] == 1000 and table["TableStatus"] == "ACTIVE", table
    assert [k["KeyType"] for k in table["KeySchema"]] == ["HASH", "RANGE"]


def test_delete_table():
    resource.Table("Events").delete()
    assert "Events" not in client.list_tables()["TableNames"]
    code, _ = error_code(lambda: client.describe_table(TableName="Events"))
    assert code == "ResourceNotFoundException", code


def test_signatures_are_checked_with_a_password():
    endpoint = f"http://127.0.0.1:{SECURE_PORT}"
    good = session("default", "secret").client("dynamodb", endpoint_url=endpoint, config=NO_RETRIES)
    assert good.list_tables()["TableNames"] == []
    wrong = session("default", "wrong").client("dynamodb", endpoint_url=endpoint, config=NO_RETRIES)
    code, _ = error_code(wrong.list_tables)
    assert code == "InvalidSignatureException", code
    unknown = session("nobody", "secret").client("dynamodb", endpoint_url=endpoint, config=NO_RETRIES)
    code, _ = error_code(unknown.list_tables)
    assert code == "UnrecognizedClientException", code


def test_tags_with_the_client_and_the_cli():
    arn = client.create_table(
        TableName="Tagged",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": "team", "Value": "core"}],
    )["TableDescription"]["TableArn"]
    client.tag_resource(ResourceArn=arn, Tags=[{"Key": "env", "Value": "ci"}])
    tags = client.list_tags_of_resource(ResourceArn=arn)["Tags"]
    assert tags == [{"Key": "env", "Value": "ci"}, {"Key": "team", "Value": "core"}], tags
    client.untag_resource(ResourceArn=arn, TagKeys=["team"])
    listed = aws_cli("list-tags-of-resource", "--resource-arn", arn)["Tags"]
    assert listed == [{"Key": "env", "Value": "ci"}], listed
    code, e = error_code(
        lambda: client.tag_resource(ResourceArn=arn, Tags=[{"Key": "aws:x", "Value": "v"}])
    )
    assert code == "ValidationException", code
    assert "cannot be prefixed with aws:" in str(e), e
    missing = arn.replace("Tagged", "NoSuchTable")
    code, _ = error_code(lambda: client.list_tags_of_resource(ResourceArn=missing))
    assert code == "ResourceNotFoundException", code
    client.delete_table(TableName="Tagged")


def test_partiql_statements():
    client.create_table(
        TableName="Songs",
        KeySchema=[
            {"AttributeName": "artist", "KeyType": "HASH"},
            {"AttributeName": "n", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "artist", "AttributeType": "S"},
            {"AttributeName": "n", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for n in range(1, 6):
        client.execute_statement(
            Statement="INSERT INTO Songs VALUE {'artist': ?, 'n': ?, 'plays': ?}",
            Parameters=[{"S": "ada"}, {"N": str(n)}, {"N": str(n * 10)}],
        )
    code, _ = error_code(
        lambda: client.execute_statement(Statement="INSERT INTO Songs VALUE {'artist': 'ada', 'n': 1}")
    )
    assert code == "DuplicateItemException", code
    one = client.execute_statement(
        Statement="SELECT plays FROM Songs WHERE artist = ? AND n = ?",
        Parameters=[{"S": "ada"}, {"N": "2"}],
    )["Items"]
    assert one == [{"plays": {"N": "20"}}], one
    some = client.execute_statement(
        Statement="SELECT n FROM Songs WHERE artist = 'ada' AND n > 2 AND plays < 50"
    )["Items"]
    assert [i["n"]["N"] for i in some] == ["3", "4"], some
    client.execute_statement(
        Statement="UPDATE Songs SET plays = plays + ? REMOVE missing WHERE artist = 'ada' AND n = 1",
        Parameters=[{"N": "5"}],
    )
    # The same item over RESP.
    item = json.loads(resp.execute_command(
        "DDB.GETITEM", json.dumps({"TableName": "Songs", "Key": {"artist": {"S": "ada"}, "n": {"N": "1"}}})
    ))["Item"]
    assert item["plays"] == {"N": "15"}, item
    client.execute_statement(Statement="DELETE FROM Songs WHERE artist = 'ada' AND n = 5")
    # Pages of a filtered scan, chained by NextToken.
    items = []
    token = None
    while True:
        kwargs = {"Statement": "SELECT * FROM Songs WHERE plays >= 0", "Limit": 2}
        if token:
            kwargs["NextToken"] = token
        page = client.execute_statement(**kwargs)
        items += page["Items"]
        token = page.get("NextToken")
        if not token:
            break
    assert len(items) == 4, items
    code, _ = error_code(lambda: client.execute_statement(Statement="SELEC * FROM Songs"))
    assert code == "ValidationException", code
    batch = client.batch_execute_statement(Statements=[
        {"Statement": "SELECT * FROM Songs WHERE artist = ? AND n = 1", "Parameters": [{"S": "ada"}]},
        {"Statement": "SELECT * FROM Songs WHERE artist = 'ada' AND n = 5"},
    ])["Responses"]
    assert batch[0]["Item"]["plays"] == {"N": "15"} and "Item" not in batch[1], batch
    code, e = error_code(lambda: client.execute_transaction(TransactStatements=[
        {"Statement": "INSERT INTO Songs VALUE {'artist': 'bob', 'n': 1}"},
        {"Statement": "UPDATE Songs SET plays = 0 WHERE artist = 'ada' AND n = 1 AND plays = 99"},
    ]))
    assert code == "TransactionCanceledException", code
    assert [r["Code"] for r in e.response["CancellationReasons"]] == ["None", "ConditionalCheckFailed"]
    listed = aws_cli("execute-statement", "--statement", "SELECT n FROM Songs WHERE artist = 'ada' AND n = 3")
    assert listed["Items"] == [{"n": {"N": "3"}}], listed
    client.delete_table(TableName="Songs")


def test_signatures_outside_fifteen_minutes_are_refused():
    import datetime

    import botocore.auth

    endpoint = f"http://127.0.0.1:{SECURE_PORT}"
    signer = session("default", "secret").client("dynamodb", endpoint_url=endpoint, config=NO_RETRIES)
    real = botocore.auth.get_current_datetime
    try:
        for minutes, text in ((-20, "Signature expired"), (20, "Signature not yet current")):
            botocore.auth.get_current_datetime = lambda m=minutes: real() + datetime.timedelta(minutes=m)
            code, e = error_code(signer.list_tables)
            assert code == "InvalidSignatureException", code
            assert text in str(e), e
        botocore.auth.get_current_datetime = lambda: real() - datetime.timedelta(minutes=5)
        signer.list_tables()
    finally:
        botocore.auth.get_current_datetime = real


TESTS = [v for k, v in list(globals().items()) if k.startswith("test_")]

if __name__ == "__main__":
    failed = 0
    for test in TESTS:
        try:
            test()
            print(f"ok   {test.__name__}")
        except Exception as e:  # report every failure, then fail the run
            failed += 1
            print(f"FAIL {test.__name__}: {type(e).__name__}: {e}")
    print(f"boto3 interop: {len(TESTS) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
