"""What the deploy tests know about Elastic Beanstalk, and how they read bundles.

The option table holds the namespaces and option names of Elastic Beanstalk's
"General options for all environments" reference that these bundles use, plus
their documented neighbours, so that a misspelt name (which Elastic Beanstalk
would reject, or worse, silently ignore) fails a test here instead of a deploy.
"""

from __future__ import annotations

import json
import os
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"

# Any option name is accepted in this namespace: it holds environment properties.
ANY_NAME = None

# The options of aws:elbv2:listener:default and aws:elbv2:listener:<port>.
ELBV2_LISTENER_OPTIONS = frozenset(
    {"DefaultProcess", "ListenerEnabled", "Protocol", "Rules", "SSLCertificateArns", "SSLPolicy"}
)

# Namespace -> documented option names.
DOCUMENTED_OPTIONS: dict[str, frozenset[str] | None] = {
    "aws:elasticbeanstalk:application:environment": ANY_NAME,
    # Environment secrets: the name of each is the variable it sets, its value
    # a secret's or a parameter's ARN ("Fetching secrets and parameters to
    # Elastic Beanstalk environment variables").
    "aws:elasticbeanstalk:application:environmentsecrets": ANY_NAME,
    "aws:elasticbeanstalk:application": frozenset({"Application Healthcheck URL"}),
    "aws:elasticbeanstalk:environment": frozenset(
        {"EnvironmentType", "ServiceRole", "LoadBalancerType", "LoadBalancerIsShared"}
    ),
    "aws:elasticbeanstalk:environment:process:default": frozenset(
        {
            "DeregistrationDelay",
            "HealthCheckInterval",
            "HealthCheckPath",
            "HealthCheckTimeout",
            "HealthyThresholdCount",
            "MatcherHTTPCode",
            "Port",
            "Protocol",
            "StickinessEnabled",
            "StickinessLBCookieDuration",
            "StickinessType",
            "UnhealthyThresholdCount",
        }
    ),
    "aws:elasticbeanstalk:sqsd": frozenset(
        {
            "WorkerQueueURL",
            "HttpPath",
            "MimeType",
            "HttpConnections",
            "ConnectTimeout",
            "InactivityTimeout",
            "VisibilityTimeout",
            "ErrorVisibilityTimeout",
            "RetentionPeriod",
            "MaxRetries",
        }
    ),
    "aws:elasticbeanstalk:cloudwatch:logs": frozenset(
        {"StreamLogs", "DeleteOnTerminate", "RetentionInDays"}
    ),
    "aws:elasticbeanstalk:healthreporting:system": frozenset(
        {"SystemType", "ConfigDocument", "EnhancedHealthAuthEnabled", "HealthCheckSuccessThreshold"}
    ),
    "aws:autoscaling:launchconfiguration": frozenset(
        {
            "DisableDefaultEC2SecurityGroup",
            "DisableIMDSv1",
            "EC2KeyName",
            "IamInstanceProfile",
            "ImageId",
            "InstanceType",
            "MonitoringInterval",
            "SecurityGroups",
            "SSHSourceRestriction",
            "BlockDeviceMappings",
            "RootVolumeType",
            "RootVolumeSize",
            "RootVolumeIOPS",
            "RootVolumeThroughput",
        }
    ),
    "aws:autoscaling:asg": frozenset(
        {
            "Availability Zones",
            "Cooldown",
            "Custom Availability Zones",
            "EnableCapacityRebalancing",
            "MinSize",
            "MaxSize",
        }
    ),
    "aws:autoscaling:trigger": frozenset(
        {
            "BreachDuration",
            "EvaluationPeriods",
            "LowerBreachScaleIncrement",
            "LowerThreshold",
            "MeasureName",
            "Period",
            "Statistic",
            "Unit",
            "UpperBreachScaleIncrement",
            "UpperThreshold",
        }
    ),
    # Deployment policy ("General options for all environments",
    # aws:elasticbeanstalk:command; "Deployment policies and settings").
    "aws:elasticbeanstalk:command": frozenset(
        {"DeploymentPolicy", "Timeout", "BatchSizeType", "BatchSize", "IgnoreHealthCheck"}
    ),
    # Managed platform updates ("General options for all environments",
    # aws:elasticbeanstalk:managedactions and its :platformupdate; "Managed
    # platform updates").
    "aws:elasticbeanstalk:managedactions": frozenset(
        {"ManagedActionsEnabled", "PreferredStartTime", "ServiceRoleForManagedUpdates"}
    ),
    "aws:elasticbeanstalk:managedactions:platformupdate": frozenset({"UpdateLevel", "InstanceRefreshEnabled"}),
    # Notifications ("General options for all environments",
    # aws:elasticbeanstalk:sns:topics; "Elastic Beanstalk environment
    # notifications with Amazon SNS").
    "aws:elasticbeanstalk:sns:topics": frozenset(
        {"Notification Endpoint", "Notification Protocol", "Notification Topic ARN", "Notification Topic Name"}
    ),
    # An Application Load Balancer's listeners ("General options for all
    # environments", aws:elbv2:listener:default and
    # aws:elbv2:listener:listener_port, here port 443; "Configuring HTTPS for
    # your Elastic Beanstalk environment").
    "aws:elbv2:listener:default": ELBV2_LISTENER_OPTIONS,
    "aws:elbv2:listener:443": ELBV2_LISTENER_OPTIONS,
    "aws:ec2:instances": frozenset(
        {
            "EnableSpot",
            "InstanceTypes",
            "SpotFleetOnDemandBase",
            "SpotFleetOnDemandAboveBasePercentage",
            "SpotMaxPrice",
            "SupportedArchitectures",
        }
    ),
}

# Documented values of the options that take one of a list, or a format
# ("General options for all environments"): (namespace, name) -> the values,
# or a pattern the value must match.
DOCUMENTED_VALUES: dict[tuple[str, str], frozenset[str] | re.Pattern] = {
    ("aws:elasticbeanstalk:command", "DeploymentPolicy"): frozenset(
        {"AllAtOnce", "Rolling", "RollingWithAdditionalBatch", "Immutable", "TrafficSplitting"}
    ),
    ("aws:elasticbeanstalk:healthreporting:system", "SystemType"): frozenset({"basic", "enhanced"}),
    ("aws:elasticbeanstalk:managedactions", "ManagedActionsEnabled"): frozenset({"true", "false"}),
    # day:hour:minute, in UTC, e.g. "Tue:09:00".
    ("aws:elasticbeanstalk:managedactions", "PreferredStartTime"): re.compile(
        r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun):([01][0-9]|2[0-3]):[0-5][0-9]"
    ),
    ("aws:elasticbeanstalk:managedactions:platformupdate", "UpdateLevel"): frozenset({"patch", "minor"}),
    ("aws:elasticbeanstalk:managedactions:platformupdate", "InstanceRefreshEnabled"): frozenset({"true", "false"}),
    ("aws:elasticbeanstalk:sns:topics", "Notification Protocol"): frozenset(
        {"http", "https", "email", "email-json", "sqs"}
    ),
    # With an Application Load Balancer: HTTP or HTTPS.
    ("aws:elbv2:listener:443", "Protocol"): frozenset({"HTTP", "HTTPS"}),
    ("aws:elbv2:listener:default", "Protocol"): frozenset({"HTTP", "HTTPS"}),
}


def documented_value(namespace: str, name: str, value) -> bool:
    """Whether `value` is one the documentation lists for the option (YAML's
    true and false count as the strings Elastic Beanstalk reads)."""
    allowed = DOCUMENTED_VALUES.get((namespace, name))
    if allowed is None:
        return True
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if isinstance(allowed, re.Pattern):
        return allowed.fullmatch(text) is not None
    return text in allowed


# Documented ranges of the numeric sqsd options (inclusive).
SQSD_RANGES = {
    "HttpConnections": (1, 100),
    "ConnectTimeout": (1, 60),
    "InactivityTimeout": (1, 36000),
    "VisibilityTimeout": (0, 43200),
    "ErrorVisibilityTimeout": (0, 43200),
    "RetentionPeriod": (60, 1209600),
    "MaxRetries": (1, 100),
}

# Documented ranges of the numeric aws:autoscaling:trigger thresholds (inclusive).
TRIGGER_THRESHOLD_RANGE = (0, 20000000)

# Documented values of aws:elasticbeanstalk:cloudwatch:logs RetentionInDays.
LOG_RETENTION_DAYS = {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653}

# The keys a configuration file may have: Elastic Beanstalk's own, the instance
# customisation keys, and the CloudFormation sections it merges into its stack.
CONFIG_KEYS = {
    "option_settings",
    "Resources",
    "Outputs",
    "Parameters",
    "Mappings",
    "packages",
    "sources",
    "files",
    "users",
    "groups",
    "commands",
    "container_commands",
    "services",
}

# A Procfile line, as the Linux platforms require it.
PROCFILE_LINE = re.compile(r"^[A-Za-z0-9_-]+:\s*[^\s].*$")

# '`{"Ref" : "AWS::Region"}`': a CloudFormation function in an option value.
FUNCTION_VALUE = re.compile(r"^`(?P<json>\{.*\})`$", re.S)

# The configuration file scripts/bundle generates from the application stack's
# outputs, and the options only it sets (namespace, name).
GENERATED_CONFIG = "00-stack.config"
STACK_OPTIONS = {
    ("aws:elasticbeanstalk:application:environment", "QUEUE_URL"),
    ("aws:elasticbeanstalk:application:environment", "TABLE_NAME"),
    ("aws:elasticbeanstalk:application:environment", "QUEUE_NAME"),
    ("aws:elasticbeanstalk:sqsd", "WorkerQueueURL"),
}
# And what else only it sets, from the settings scripts/bundle is given: the
# web's HTTPS listener (CERTIFICATE_ARN) and the health notifications' topic
# (NOTIFICATION_TOPIC_ARN).
GENERATED_OPTIONS = STACK_OPTIONS | {
    ("aws:elbv2:listener:443", "Protocol"),
    ("aws:elbv2:listener:443", "SSLCertificateArns"),
    ("aws:elbv2:listener:443", "SSLPolicy"),
    ("aws:elasticbeanstalk:sns:topics", "Notification Topic ARN"),
}

# What each bundle holds besides its binary.
BUNDLES = {
    "web": {"binary": "web", "files": ["Procfile"], "folders": [".ebextensions"]},
    "worker": {
        "binary": "worker",
        "files": ["Procfile", "cron.yaml"],
        # conf.d/ is included in nginx's http block, conf.d/elasticbeanstalk/
        # in its default server block (test_worker_nginx.py).
        "folders": [".ebextensions", ".platform/nginx/conf.d", ".platform/nginx/conf.d/elasticbeanstalk"],
    },
}


class StrictLoader(yaml.SafeLoader):
    """YAML as Elastic Beanstalk reads it: a key twice is an error (it would
    silently drop one of the sections), and CloudFormation's short tags
    (`!Ref x`, `!GetAtt a.b`, ...) read as their long forms."""


def _no_duplicates(loader: StrictLoader, node: yaml.MappingNode, deep: bool = False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"the key {key!r} appears twice", key_node.start_mark
            )
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    lambda loader, node: _no_duplicates(loader, node, deep=True),
)


def _short_tag(loader: StrictLoader, suffix: str, node: yaml.Node):
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = _no_duplicates(loader, node, deep=True)
    return {name: value}


StrictLoader.add_multi_constructor("!", _short_tag)


def load_yaml(path: Path):
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=StrictLoader)


@dataclass(frozen=True)
class Option:
    file: str
    namespace: str
    name: str
    value: object


@dataclass
class Bundle:
    """One unzipped bundle: its folder and its parsed configuration files."""

    name: str
    root: Path
    configs: dict[str, dict] = field(default_factory=dict)

    @property
    def options(self) -> list[Option]:
        found = []
        for file, config in self.configs.items():
            found.extend(option_settings(file, config.get("option_settings")))
        return found

    def option(self, namespace: str, name: str):
        values = [o.value for o in self.options if o.namespace == namespace and o.name == name]
        assert values, f"{self.name}: no {namespace} {name} in .ebextensions"
        assert len(values) == 1, f"{self.name}: {namespace} {name} is set {len(values)} times"
        return values[0]

    def environment(self) -> dict[str, object]:
        return {
            o.name: o.value
            for o in self.options
            if o.namespace == "aws:elasticbeanstalk:application:environment"
        }

    def section(self, key: str) -> dict:
        merged: dict = {}
        for file, config in self.configs.items():
            for name, value in (config.get(key) or {}).items():
                assert name not in merged, f"{self.name}: {key} {name} is declared twice ({file})"
                merged[name] = value
        return merged

    @property
    def procfile(self) -> list[tuple[str, str]]:
        lines = (self.root / "Procfile").read_text(encoding="utf-8").splitlines()
        processes = []
        for line in lines:
            if not line.strip():
                continue
            assert PROCFILE_LINE.match(line), f"{self.name}: Procfile line {line!r} is not `name: command`"
            name, command = line.split(":", 1)
            processes.append((name, command.strip()))
        return processes


def option_settings(file: str, settings) -> list[Option]:
    """Both documented forms: a mapping of namespace -> {name: value}, or a
    list of {namespace, option_name, value} (namespace defaults to the
    environment properties)."""
    if settings is None:
        return []
    found = []
    if isinstance(settings, dict):
        for namespace, options in settings.items():
            assert isinstance(options, dict), f"{file}: {namespace} must map option names to values"
            for name, value in options.items():
                found.append(Option(file, namespace, str(name), value))
    elif isinstance(settings, list):
        for item in settings:
            assert isinstance(item, dict) and "option_name" in item, f"{file}: {item!r} has no option_name"
            namespace = item.get("namespace", "aws:elasticbeanstalk:application:environment")
            found.append(Option(file, namespace, item["option_name"], item.get("value")))
    else:
        raise AssertionError(f"{file}: option_settings must be a mapping or a list")
    return found


def function_value(value) -> dict | None:
    """The CloudFormation function inside a '`{...}`' option value, if any."""
    if not isinstance(value, str):
        return None
    match = FUNCTION_VALUE.match(value.strip())
    if not match:
        return None
    return json.loads(match.group("json"))


def open_bundle(name: str, zip_path: Path, into: Path) -> Bundle:
    """A bundle unzipped with its file modes, and its configuration files parsed."""
    bundle = Bundle(name, unzip(zip_path, into))
    for config in sorted((bundle.root / ".ebextensions").glob("*.config")):
        parsed = load_yaml(config)
        assert isinstance(parsed, dict), f"{name}: {config.name} is not a YAML mapping"
        bundle.configs[config.name] = parsed
    return bundle


def unzip(bundle: Path, into: Path) -> Path:
    """Extracts like the platform does: the Unix modes stored in the zip are
    kept (Python's extractall drops them)."""
    into = into.resolve()
    with zipfile.ZipFile(bundle) as archive:
        for info in archive.infolist():
            target = into / info.filename
            assert into in target.resolve().parents, (
                f"{bundle.name}: entry {info.filename!r} points outside the bundle"
            )
            archive.extract(info, into)
            mode = (info.external_attr >> 16) & 0o7777
            if mode:
                os.chmod(target, mode)
    return into


def zip_modes(bundle: Path) -> dict[str, int]:
    with zipfile.ZipFile(bundle) as archive:
        return {
            info.filename: info.external_attr >> 16
            for info in archive.infolist()
        }


def is_executable_file(mode: int) -> bool:
    return stat.S_ISREG(mode) and bool(mode & stat.S_IXUSR)


def dist_dir() -> Path:
    path = Path(os.environ.get("DIST_DIR") or "dist")
    return path if path.is_absolute() else REPO / path


def bundle_zip(name: str) -> Path:
    path = dist_dir() / f"{name}.zip"
    if not path.is_file():
        pytest.fail(
            f"{path} does not exist: build the bundles first with `ALLOW_NO_STACK=1 scripts/bundle` "
            "(or `SKIP_BUILD=1 ALLOW_NO_STACK=1 TARGET_DIR=<folder with web and worker> scripts/bundle`), "
            "or set DIST_DIR to the folder that holds web.zip and worker.zip",
            pytrace=False,
        )
    return path
