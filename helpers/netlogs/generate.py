"""The network traffic a scenario's CloudTrail records imply, as flow log and query log records.

:func:`generate` is deterministic (the same network, records and seed give the same records).
Around the records' time it produces:

- the office's normal traffic: office hosts reach each instance on the ports its groups open to
  the office, and the instances make routine DNS look-ups and HTTPS calls;
- an internet scanner's probes of the admin ports (rejected unless a group admits them);
- for every ingress rule an outsider adds (``AuthorizeSecurityGroupIngress`` from an address
  outside the office): the outsider's connections to the opened port on the group's instances,
  before the change (rejected: no rule admits them) and after it (accepted), then the instance
  resolving :data:`SUSPICIOUS_DOMAIN` and calling its address every few minutes.

Whether a connection is accepted is never written down: it is what the groups' rules, as the
records change them, admit at that moment. Security groups are stateful, so the reply of an
accepted connection is accepted too, and egress is open (EC2's default). Queries to the Amazon
DNS server are in the Resolver query log but never in flow logs (a documented flow log
limitation: https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs.html#flow-logs-limitations).

Addresses are documentation ranges: the office 198.51.100.0/24, benign services in
192.0.2.0/24, hostile ones in 203.0.113.0/24; the outsider is whoever made the change.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import random
from dataclasses import dataclass

from helpers.netlogs.flowlogs import Flow
from helpers.netlogs.network import Interface, Network, cloudtrail_rules
from helpers.netlogs.resolver import VERSION as QUERY_LOG_VERSION

__all__ = ["OFFICE_CIDR", "SUSPICIOUS_DOMAIN", "Traffic", "generate"]

OFFICE_CIDR = "198.51.100.0/24"
#: The command-and-control name a compromised instance resolves, and its address.
SUSPICIOUS_DOMAIN = "c2.example.net."
C2_ADDRESS = "203.0.113.66"
SCANNER = "203.0.113.200"
SCANNED_PORTS = (22, 3389)
#: The office: this many hosts, each minute this likely to use a port open to it.
OFFICE_HOSTS, OFFICE_BUSY = 6, 0.5
#: Every this many minutes, each instance makes a routine look-up; the scanner comes by.
LOOKUP_EVERY, SCAN_EVERY = 10, 15
#: What the instances look up and call on an ordinary day.
ROUTINE_LOOKUPS = {
    "updates.example.com.": "192.0.2.10",
    "api.example.org.": "192.0.2.20",
    "telemetry.example.com.": "192.0.2.30",
}
#: The window around the records: this long before the first, this long in all.
LEAD = dt.timedelta(minutes=15)
WINDOW = dt.timedelta(minutes=45)
#: The outsider tries before the change, at these offsets; then works this long after it.
ATTEMPTS_BEFORE = (dt.timedelta(minutes=6), dt.timedelta(minutes=3))
SESSION_DELAY, SESSION = dt.timedelta(minutes=1), dt.timedelta(minutes=15)
#: Into the session, the instance resolves the suspicious name; then calls it this often.
COMPROMISE_AFTER, BEACON_EVERY = dt.timedelta(minutes=8), dt.timedelta(minutes=3)
_TCP, _EPHEMERAL = 6, (49152, 65535)


@dataclass(frozen=True)
class Traffic:
    """Flow log records (by start time) and Resolver query log records (by time)."""

    flows: list[Flow]
    queries: list[dict]


def generate(
    network: Network, records: list[dict], *, seed: str, office_cidr: str = OFFICE_CIDR
) -> Traffic:
    """The traffic around ``records`` (one scenario's CloudTrail records, by time).

    >>> traffic = generate(network, records, seed="sg-open-world")       # doctest: +SKIP
    >>> {f.action for f in traffic.flows if f.dstport == 3389}           # doctest: +SKIP
    {'ACCEPT', 'REJECT'}
    """
    if not records:
        raise ValueError("no CloudTrail records: nothing says when the traffic happens")
    times = [_time(r["eventTime"]) for r in records]
    start = times[0].replace(second=0) - LEAD
    gen = _Generator(network, sorted(zip(times, records, strict=True), key=lambda p: p[0]))
    rng = random.Random(seed)
    office = [str(h) for h in list(ipaddress.ip_network(office_cidr).hosts())[10:][:OFFICE_HOSTS]]
    minutes = int(WINDOW.total_seconds() // 60)
    for minute in range(minutes):
        now = start + dt.timedelta(minutes=minute)
        for n, eni in enumerate(network.interfaces):
            for rule in network.rules:
                office_rule = rule.group_id in eni.group_ids and _within(rule.cidr, office_cidr)
                if office_rule and rng.random() < OFFICE_BUSY:
                    gen.inbound(rng, now, eni, rng.choice(office), rule.from_port)
            if (minute + 3 * n) % LOOKUP_EVERY == 0:  # the instances' look-ups spread out
                name = sorted(ROUTINE_LOOKUPS)[(minute // LOOKUP_EVERY + n) % len(ROUTINE_LOOKUPS)]
                gen.lookup(rng, now, eni, name, ROUTINE_LOOKUPS[name])
                gen.outbound(rng, now + dt.timedelta(seconds=2), eni, ROUTINE_LOOKUPS[name], 443)
            if minute % SCAN_EVERY == SCAN_EVERY // 2:
                for port in SCANNED_PORTS:
                    gen.inbound(rng, now, eni, SCANNER, port)
    end = start + WINDOW
    for when, record in gen.changes:
        for outsider, targets, port in _openings(network, record, office_cidr):
            for before in ATTEMPTS_BEFORE:
                for eni in targets:
                    gen.inbound(rng, when - before, eni, outsider, port)
            for eni in targets:
                sport, now = rng.randint(*_EPHEMERAL), when + SESSION_DELAY
                while now < min(when + SESSION_DELAY + SESSION, end):
                    gen.inbound(rng, now, eni, outsider, port, session_port=sport)
                    now += dt.timedelta(minutes=1)
            for eni in targets:
                now = when + COMPROMISE_AFTER
                gen.lookup(rng, now, eni, SUSPICIOUS_DOMAIN, C2_ADDRESS)
                while (now := now + BEACON_EVERY) < end:
                    gen.outbound(rng, now, eni, C2_ADDRESS, 443)
    flows = sorted(gen.flows, key=lambda f: (f.start, f.interface_id, f.srcaddr, f.srcport))
    queries = sorted(gen.queries, key=lambda q: (q["query_timestamp"], q["srcaddr"]))
    return Traffic(flows, queries)


class _Generator:
    """Collects records; decides acceptance from the rules in force at each moment."""

    def __init__(self, network: Network, changes: list[tuple[dt.datetime, dict]]):
        self.network, self.changes = network, changes
        self.flows: list[Flow] = []
        self.queries: list[dict] = []

    def rules_at(self, when: dt.datetime) -> Network:
        network = self.network
        for changed, record in self.changes:
            if changed <= when:
                network = network.changed(record)
        return network

    def inbound(self, rng, when, eni: Interface, peer: str, port: int, session_port=None):
        """A connection from ``peer`` to ``port``: accepted (and answered) or rejected. With a
        ``session_port``, one minute of a long interactive session from that source port."""
        heavy = session_port is not None
        start = _epoch(when) + (0 if heavy else rng.randint(0, 20))
        sport = session_port or rng.randint(*_EPHEMERAL)
        if not self.rules_at(when).admits(eni, "tcp", port, peer):
            packets = rng.randint(1, 3)
            end = start + rng.randint(1, 5)
            flow = (sport, port, packets, packets * 52, start, end, "REJECT")
            self._flow(eni, peer, eni.private_ip, *flow)
            return
        packets = rng.randint(400, 900) if heavy else rng.randint(8, 40)
        end = start + (59 if heavy else rng.randint(1, 15))
        size = rng.randint(300, 1200) if heavy else rng.randint(90, 400)
        self._flow(eni, peer, eni.private_ip, sport, port, packets, packets * size, start, end)
        back = packets + rng.randint(-packets // 4, packets // 4)
        self._flow(eni, eni.private_ip, peer, port, sport, back, back * size * 2, start, end)

    def outbound(self, rng, when, eni: Interface, peer: str, port: int):
        """A call from the instance to ``peer``: egress is open, the reply comes back."""
        start = _epoch(when) + rng.randint(0, 20)
        end = start + rng.randint(1, 10)
        sport = rng.randint(*_EPHEMERAL)
        packets, size = rng.randint(6, 20), rng.randint(80, 300)
        self._flow(eni, eni.private_ip, peer, sport, port, packets, packets * size, start, end)
        self._flow(eni, peer, eni.private_ip, port, sport, packets, packets * size * 3, start, end)

    def lookup(self, rng, when, eni: Interface, name: str, address: str):
        """The instance resolves ``name`` through the VPC's Resolver."""
        moment = when + dt.timedelta(seconds=rng.randint(0, 20))
        self.queries.append(
            {
                "version": QUERY_LOG_VERSION,
                "account_id": self.network.account_id,
                "region": self.network.region,
                "vpc_id": self.network.vpc_id,
                "query_timestamp": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "query_name": name,
                "query_type": "A",
                "query_class": "IN",
                "rcode": "NOERROR",
                "answers": [{"Rdata": address, "Type": "A", "Class": "IN"}],
                "srcaddr": eni.private_ip,
                "srcport": str(rng.randint(*_EPHEMERAL)),
                "transport": "UDP",
                "srcids": {"instance": eni.instance_id},
            }
        )

    def _flow(self, eni, src, dst, sport, dport, packets, size, start, end, action="ACCEPT"):
        account = self.network.account_id
        flow = (src, dst, sport, dport, _TCP, packets, size, start, end, action)
        self.flows.append(Flow(account, eni.eni_id, *flow))


def _openings(network: Network, record: dict, office_cidr: str):
    """``(outsider, interfaces, port)`` for each port an outsider's ingress change opened."""
    if record.get("eventName") != "AuthorizeSecurityGroupIngress" or record.get("errorCode"):
        return
    outsider = record.get("sourceIPAddress", "")
    try:
        address = ipaddress.ip_address(outsider)
    except ValueError:
        return  # an AWS service acting, not an address
    if address in ipaddress.ip_network(office_cidr) or address.is_private:
        return
    for rule in cloudtrail_rules(record):
        if rule.protocol == "tcp" and rule.admits("tcp", rule.from_port, outsider):
            yield outsider, network.in_group(rule.group_id), rule.from_port


def _within(cidr: str, office_cidr: str) -> bool:
    return ipaddress.ip_network(cidr, strict=False).subnet_of(ipaddress.ip_network(office_cidr))


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _epoch(when: dt.datetime) -> int:
    return int(when.timestamp())
