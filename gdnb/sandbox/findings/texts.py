"""Titles and descriptions of findings, in the wording GuardDuty uses for the common types.

Types without a hand-written text get one composed from the type's parts, which reads like the
service's own (``"<what> was observed on <resource>."``).
"""

from __future__ import annotations

import re

# type name -> (title, description); {r} is the resource phrase, {ip} the remote address, {api} the API,
# {domain} the domain, {user} the principal name, {bucket} the bucket.
_TEXTS: dict[str, tuple[str, str]] = {
    "Trojan:EC2/DNSDataExfiltration": (
        "Data exfiltration through DNS queries from EC2 instance {iid}.",
        "EC2 instance {iid} is attempting to query domain names that resemble exfiltrated data. "
        "This could be an indication of a compromised instance."),
    "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS": (
        "Credentials for instance role {user} used from external IP address.",
        "Credentials created exclusively for an EC2 instance using instance role {user} have been used "
        "from external IP address {ip}."),
    "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.InsideAWS": (
        "Credentials for instance role {user} used from another AWS account.",
        "Credentials created exclusively for an EC2 instance using instance role {user} have been used "
        "from an EC2 instance in another AWS account."),
    "Exfiltration:S3/MaliciousIPCaller": (
        "S3 API {api} was invoked from known malicious IP address {ip}.",
        "S3 API {api} was invoked from known malicious IP address {ip}. This can indicate an attempt by an "
        "adversary to collect data from your AWS environment."),
    "Exfiltration:S3/AnomalousBehavior": (
        "Unusual retrieval of objects from S3 bucket {bucket}.",
        "APIs commonly used to retrieve data were invoked by principal {user} on S3 bucket {bucket} in an "
        "anomalous way. The observed pattern of API calls is unusual for this principal."),
    "Recon:EC2/PortProbeUnprotectedPort": (
        "Unprotected port on EC2 instance {iid} is being probed.",
        "EC2 instance has an unprotected port which is being probed by a known malicious host."),
    "Recon:EC2/PortProbeEMRUnprotectedPort": (
        "Unprotected EMR-related port on EC2 instance {iid} is being probed.",
        "An EMR-related sensitive port on EC2 instance {iid} is not blocked and is being probed by a known "
        "malicious host."),
    "Recon:EC2/Portscan": (
        "EC2 instance {iid} is performing outbound port scans against remote host {ip}.",
        "EC2 instance {iid} is performing outbound port scans against remote host {ip}."),
    "UnauthorizedAccess:EC2/SSHBruteForce": (
        "{ip} is performing SSH brute force attacks against {iid}.",
        "{ip} is performing SSH brute force attacks against {iid}. Brute force attacks are used to gain "
        "unauthorized access to your instance by guessing the SSH password."),
    "UnauthorizedAccess:EC2/RDPBruteForce": (
        "{ip} is performing RDP brute force attacks against {iid}.",
        "{ip} is performing RDP brute force attacks against {iid}. Brute force attacks are used to gain "
        "unauthorized access to your instance by guessing the RDP password."),
    "Backdoor:EC2/C&CActivity.B!DNS": (
        "Command and Control server domain name queried by EC2 instance {iid}.",
        "EC2 instance {iid} is querying a domain name associated with a known Command & Control server."),
    "CryptoCurrency:EC2/BitcoinTool.B!DNS": (
        "Bitcoin-related domain name queried by EC2 instance {iid}.",
        "EC2 instance {iid} is querying a domain name that is associated with Bitcoin-related activity."),
    "Trojan:EC2/DropPoint!DNS": (
        "Drop Point domain name queried by EC2 instance {iid}.",
        "EC2 instance {iid} is querying a domain name of a remote host that is known to hold credentials and "
        "other stolen data captured by malware."),
    "Policy:IAMUser/RootCredentialUsage": (
        "API {api} was invoked using root credentials.",
        "API {api} was invoked using root credentials from IP address {ip}."),
    "UnauthorizedAccess:IAMUser/TorIPCaller": (
        "API {api} was invoked from a Tor exit node.",
        "API {api} was invoked from a Tor exit node IP address {ip}."),
    "UnauthorizedAccess:IAMUser/MaliciousIPCaller": (
        "API {api} was invoked from a known malicious IP address.",
        "API {api} was invoked from IP address {ip} that is on a threat list."),
    "Stealth:IAMUser/CloudTrailLoggingDisabled": (
        "AWS CloudTrail trail was disabled.",
        "AWS CloudTrail logging was disabled by principal {user} (API {api})."),
}

_PURPOSE_PHRASES = {
    "Backdoor": "backdoor activity",
    "Behavior": "unusual behavior",
    "CredentialAccess": "credential access",
    "CryptoCurrency": "cryptocurrency-related activity",
    "DefenseEvasion": "defense evasion",
    "Discovery": "discovery activity",
    "Execution": "suspicious execution",
    "Exfiltration": "possible data exfiltration",
    "Impact": "activity that can impact resources",
    "InitialAccess": "initial access activity",
    "PenTest": "API calls from a penetration-testing operating system",
    "Persistence": "persistence activity",
    "Policy": "a security-relevant configuration change",
    "PrivilegeEscalation": "privilege escalation",
    "Recon": "reconnaissance",
    "ResourceConsumption": "unusual resource consumption",
    "Stealth": "activity that hides tracks",
    "Trojan": "trojan activity",
    "UnauthorizedAccess": "unauthorized access",
    "AttackSequence": "a sequence of related suspicious actions",
    "Object": "a malicious object",
    "S3Object": "a malicious object",
}


def _humanize(detail: str) -> str:
    """``MaliciousIPCaller.Custom`` -> ``malicious IP caller custom`` (acronyms keep their case)."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", detail.replace(".", " "))
    return " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in spaced.split())


def title_and_description(type_name: str, values: dict[str, str]) -> tuple[str, str]:
    """The title and description of a finding of ``type_name``.

    Parameters
    ----------
    type_name
        The finding type.
    values
        ``resource`` (a phrase naming the resource) and, where known, ``iid``, ``ip``, ``api``,
        ``domain``, ``user``, ``bucket``.
    """
    known = _TEXTS.get(type_name)
    if known:
        try:
            return known[0].format(**values), known[1].format(**values)
        except KeyError:
            pass
    purpose = type_name.split(":", 1)[0]
    detail = type_name.split("/", 1)[1] if "/" in type_name else type_name
    phrase = _PURPOSE_PHRASES.get(purpose, purpose.lower())
    what = _humanize(detail.split("!", 1)[0])
    resource = values.get("resource", "a resource")
    title = f"{phrase[0].upper()}{phrase[1:]} ({what}) observed on {resource}."
    extra = []
    if values.get("ip"):
        extra.append(f"The activity involved remote IP address {values['ip']}.")
    if values.get("domain"):
        extra.append(f"The domain {values['domain']} was queried.")
    if values.get("api"):
        extra.append(f"API {values['api']} was invoked by {values.get('user', 'a principal')}.")
    description = " ".join([f"GuardDuty observed {phrase} ({what}) on {resource}.", *extra])
    return title, description
