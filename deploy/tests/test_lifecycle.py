"""The application version lifecycle policy the guide sets (deploy/README.md,
step 4, "Keep the number of versions in check"): what it types is what the
Elastic Beanstalk API's UpdateApplicationResourceLifecycle takes, checked
against the API's own model as botocore ships it (the shapes AWS publishes:
ApplicationResourceLifecycleConfig, ServiceRole, VersionLifecycleConfig with
MaxCountRule and MaxAgeRule)."""

from __future__ import annotations

import json
import re
import shlex

import botocore.session
from botocore.validate import ParamValidator

from ebspec import DEPLOY

GUIDE = DEPLOY / "README.md"
ACCOUNT = "123456789012"


def lifecycle_block() -> tuple[str, str]:
    """The JSON the guide writes to lifecycle.json (with its shell variables
    filled in), and the command that follows it."""
    text = GUIDE.read_text(encoding="utf-8")
    found = re.findall(r"cat > lifecycle\.json <<EOF\n(.*?)\nEOF\n(aws elasticbeanstalk (?:[^\n]*\\\n)*[^\n]*)", text, re.S)
    assert len(found) == 1, f"the guide writes lifecycle.json {len(found)} times, not once (step 4)"
    document, command = found[0]
    return document.replace("$ACCOUNT_ID", ACCOUNT), command.replace("\\\n", " ")


def operation():
    return botocore.session.get_session().get_service_model("elasticbeanstalk").operation_model(
        "UpdateApplicationResourceLifecycle"
    )


def test_the_guide_calls_update_application_resource_lifecycle_with_its_file():
    _, command = lifecycle_block()
    words = shlex.split(command)
    assert words[:3] == ["aws", "elasticbeanstalk", "update-application-resource-lifecycle"], words
    assert "--application-name" in words and words[words.index("--application-name") + 1] == "$APP", words
    assert words[words.index("--resource-lifecycle-config") + 1] == "file://lifecycle.json", words
    # Every option of the command is one the API's operation has (the AWS CLI
    # turns ApplicationName into --application-name, and so on).
    members = {re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower() for name in operation().input_shape.members}
    for word in words:
        if word.startswith("--"):
            assert word[2:] in members | {"region"}, f"{word} is not an option of the operation ({sorted(members)})"


def test_the_lifecycle_json_is_what_the_api_takes():
    document, _ = lifecycle_block()
    config = json.loads(document)
    # botocore's validator reports unknown keys, missing required ones and
    # wrong types against the published shape.
    report = ParamValidator().validate({"ApplicationName": "messages", "ResourceLifecycleConfig": config}, operation().input_shape)
    assert not report.has_errors(), f"the guide's lifecycle.json does not fit the API:\n{report.generate_report()}"
    assert re.fullmatch(r"arn:aws:iam::\d{12}:role/aws-elasticbeanstalk-service-role", config["ServiceRole"]), (
        f"ServiceRole {config['ServiceRole']!r} is not the EB CLI's service role (the guide's environments use it)"
    )


def test_the_policy_keeps_a_count_of_versions_and_deletes_their_zips():
    # "Configuring application version lifecycle settings": a MaxCountRule
    # deletes the oldest versions beyond MaxCount; DeleteSourceFromS3 deletes
    # their bundles too. Each release adds two versions (web and worker).
    config = json.loads(lifecycle_block()[0])["VersionLifecycleConfig"]
    count = config["MaxCountRule"]
    assert count["Enabled"] is True, "the count rule must be on"
    assert count["DeleteSourceFromS3"] is True, "deleted versions must take their zips with them"
    assert 2 <= count["MaxCount"] <= 1000, f"MaxCount {count['MaxCount']}: keep at least one release, within the quota of 1000"
    assert count["MaxCount"] % 2 == 0, "a release is two versions: keep whole releases"
