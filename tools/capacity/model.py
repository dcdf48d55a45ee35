#!/usr/bin/env python3
"""Capacity model of Chat.Dapr (docs/capacity.md): machines for the design load, from the costs
measured in docs/benchmarks.md. Every input is marked MEASURED (with where) or ASSUMED; the
output is the tables of docs/capacity.md, so the document's numbers can be recomputed after a
new benchmark run: python3 tools/capacity/model.py [--day]

--day replays a day's traffic shape (hourly factors, ASSUMED) and prints nodes per hour.
"""
import math
import sys

# --- Measured (docs/benchmarks.md) -----------------------------------------------------------
# CPU ms per 1:1 message by process, embedded set, warm, 1,000 msg/s (issue 14 section).
CPU_MS_PER_MSG = {
    "sidecars": 0.70,
    "router": 0.25,
    "gateway": 0.25,
    "messaging": 0.19,
    "delivery": 0.06,
    "directory+presence": 0.01,
}
CPU_MS_PER_MSG_LIGHT_LOAD = 4.89  # same table, 300 msg/s: per-wake-up costs not yet amortised
GATEWAY_RSS_KIB_PER_CONN = 41.48  # idle section, 10k connections
GATEWAY_RSS_BASE_MIB = 123  # idle section, "RSS before"
# Fan-out section: 10,690 member deliveries/s on the 2-core box, which was saturated
# (load average 19-22): at most 2 cores / 10,690 per delivery, an upper bound.
CPU_MS_PER_EXTRA_DELIVERY_BOUND = 2 * 1000 / 10690
# Presence section: one refresh of 20k users, median 2.41 s wall; one state transaction.
# The refresh is one request served mostly in sequence: about one core busy for its duration.
PRESENCE_S_PER_20K = 2.412
CPU_MS_PER_PRESENCE_USER = PRESENCE_S_PER_20K * 1000 / 20000  # one core for the wall time
CPU_MS_PER_PRESENCE_USER_BOUND = 2 * CPU_MS_PER_PRESENCE_USER  # both cores
# Idle section: 634 authenticated connects/s (JWT, hub, UserActor registration) with the
# machine busy: at most 2 cores / 634 per connect.
CPU_MS_PER_CONNECT_BOUND = 2 * 1000 / 634

# --- Design load (issue 20, docs/ARCHITECTURE.md) ------------------------------------------------
MSG_PER_S = 290_000
CONNECTIONS = 250_000_000
PRESENCE_REFRESH_S = 10  # Gateway:PresenceRefreshSeconds default

# --- Assumed ----------------------------------------------------------------------------------
GROUP_SHARE = 0.20  # share of messages sent to groups
GROUP_ONLINE_RECIPIENTS = 10  # online member connections per group message (e.g. 25 members, 40% online)
CONNECTION_LIFETIME_S = 3600  # mobile clients reconnect about once an hour (network changes)
PING_INTERVAL_S = 15  # SignalR keep-alive default
CPU_MS_PER_PING = 0.010  # NOT measured: a WebSocket ping frame in and out
NODE_CORES = 32
NODE_GIB = 128
CPU_TARGET = 0.60  # utilisation target: room for a zone failure and spikes
MEM_TARGET = 0.80
CONNS_PER_GATEWAY_POD = 100_000  # the design's figure
GATEWAY_POD_GIB = 5  # request in deploy/kubernetes/base/gateway.yaml (>= 100k x 41.48 KiB + base)
SIDECAR_POD_GIB = 0.25  # dapr.io/sidecar-memory-request
# Stores: per-node rates are NOT measured here (no cluster); typical published orders of magnitude.
REDIS_KEY_WRITES_PER_SHARD = 500_000  # pipelined/transaction writes per second per primary
KAFKA_MSGS_PER_BROKER = 200_000  # small (~1 KiB) records per second per broker, replicated x3
CASSANDRA_WRITES_PER_NODE = 30_000  # replica writes per second per node (each write lands on RF = 3 nodes)


def work(msg_per_s, connections, refresh_s):
    """CPU cores per work item: rate x measured cost."""
    one_to_one = msg_per_s * sum(CPU_MS_PER_MSG.values()) / 1000
    extra_deliveries = msg_per_s * GROUP_SHARE * (GROUP_ONLINE_RECIPIENTS - 1)
    return {
        "send path (1:1 cost, every message)": (msg_per_s, "msg/s", sum(CPU_MS_PER_MSG.values()), one_to_one),
        "group fan-out, deliveries beyond the first": (extra_deliveries, "deliveries/s", CPU_MS_PER_EXTRA_DELIVERY_BOUND, extra_deliveries * CPU_MS_PER_EXTRA_DELIVERY_BOUND / 1000),
        "presence refresh": (connections / refresh_s, "user reports/s", CPU_MS_PER_PRESENCE_USER, connections / refresh_s * CPU_MS_PER_PRESENCE_USER / 1000),
        "connects (churn)": (connections / CONNECTION_LIFETIME_S, "connects/s", CPU_MS_PER_CONNECT_BOUND, connections / CONNECTION_LIFETIME_S * CPU_MS_PER_CONNECT_BOUND / 1000),
        "keep-alive pings": (connections / PING_INTERVAL_S, "pings/s", CPU_MS_PER_PING, connections / PING_INTERVAL_S * CPU_MS_PER_PING / 1000),
    }


def nodes(msg_per_s, connections, refresh_s):
    cores = sum(w[3] for w in work(msg_per_s, connections, refresh_s).values())
    cpu_nodes = cores / CPU_TARGET / NODE_CORES
    gateway_pods = math.ceil(connections / CONNS_PER_GATEWAY_POD)
    mem_gib = gateway_pods * (GATEWAY_POD_GIB + SIDECAR_POD_GIB)
    mem_nodes = mem_gib / MEM_TARGET / NODE_GIB
    return cores, cpu_nodes, gateway_pods, mem_gib, mem_nodes


def table(refresh_s):
    print(f"| work (presence every {refresh_s} s) | rate | unit | CPU ms each | cores |")
    print("|---|---:|---|---:|---:|")
    total = 0
    for name, (rate, unit, ms, cores) in work(MSG_PER_S, CONNECTIONS, refresh_s).items():
        total += cores
        print(f"| {name} | {rate:,.0f} | {unit} | {ms:.3f} | {cores:,.0f} |")
    print(f"| **total** | | | | **{total:,.0f}** |")
    cores, cpu_nodes, pods, mem_gib, mem_nodes = nodes(MSG_PER_S, CONNECTIONS, refresh_s)
    print()
    print(f"CPU: {cores:,.0f} cores / {CPU_TARGET:.0%} / {NODE_CORES} = {cpu_nodes:,.0f} nodes; "
          f"memory: {pods:,} gateway pods x {GATEWAY_POD_GIB + SIDECAR_POD_GIB} GiB = {mem_gib:,.0f} GiB / {MEM_TARGET:.0%} / {NODE_GIB} = {mem_nodes:,.0f} nodes")
    print()


def per_process():
    print("| process | CPU ms/msg | cores at 290k msg/s | pods at 60% of a 4-core pod |")
    print("|---|---:|---:|---:|")
    for name, ms in CPU_MS_PER_MSG.items():
        cores = MSG_PER_S * ms / 1000
        print(f"| {name} | {ms:.2f} | {cores:,.1f} | {math.ceil(cores / (4 * CPU_TARGET)):,} |")
    print()


def stores(refresh_s):
    # Per message (docs/ARCHITECTURE.md, send path; docs/benchmarks.md decision 3):
    #   Cassandra (messages-store, no transactions): dedup read + message, dedup, header writes
    #   by the actor + sender's cursor by messaging = 1 read, 4 writes.
    #   Kafka: message-created + one deliveries.{gateway} publish (1:1: one gateway) = 2 records.
    #   Redis (presence-store): delivery's bulk route read, batched (<= 1 a message).
    cassandra_writes = MSG_PER_S * 4
    kafka_records = MSG_PER_S * (1 + 1 + GROUP_SHARE * 2)  # groups reach ~3 gateways (assumed)
    redis_presence = CONNECTIONS / refresh_s
    print("| store | operations/s | assumed per node | nodes (primaries) |")
    print("|---|---:|---:|---:|")
    print(f"| Cassandra (messages-store) writes | {cassandra_writes:,.0f} | {CASSANDRA_WRITES_PER_NODE:,} | {math.ceil(cassandra_writes / CASSANDRA_WRITES_PER_NODE * 3):,} (RF 3) |")
    print(f"| Kafka records (chat-pubsub) | {kafka_records:,.0f} | {KAFKA_MSGS_PER_BROKER:,} | {math.ceil(kafka_records / KAFKA_MSGS_PER_BROKER):,} |")
    print(f"| Redis presence marker writes (refresh every {refresh_s} s) | {redis_presence:,.0f} | {REDIS_KEY_WRITES_PER_SHARD:,} | {math.ceil(redis_presence / REDIS_KEY_WRITES_PER_SHARD):,} |")
    print()


# Hourly traffic shape of a day, relative to the daily mean (ASSUMED: night trough, evening peak).
DAY = [0.35, 0.25, 0.2, 0.2, 0.25, 0.4, 0.6, 0.85, 1.05, 1.15, 1.2, 1.25,
       1.3, 1.25, 1.2, 1.15, 1.15, 1.2, 1.35, 1.55, 1.75, 1.9, 1.45, 0.7]


def day():
    mean = sum(DAY) / 24
    daily_avg = 25e9 / 86400
    print(f"Daily mean 25B messages / 86,400 s = {daily_avg:,.0f} msg/s; connections follow the same shape, peak {CONNECTIONS:,}.")
    print()
    print("| hour | msg/s | connections | cores | nodes (CPU) | nodes (memory) |")
    print("|---:|---:|---:|---:|---:|---:|")
    for hour, f in enumerate(DAY):
        rate = daily_avg * f / mean
        conns = CONNECTIONS * f / max(DAY)
        cores, cpu_nodes, _, _, mem_nodes = nodes(rate, conns, PRESENCE_REFRESH_S)
        print(f"| {hour:02d} | {rate:,.0f} | {conns:,.0f} | {cores:,.0f} | {cpu_nodes:,.0f} | {mem_nodes:,.0f} |")
    print()


if __name__ == "__main__":
    if "--day" in sys.argv:
        day()
    else:
        table(PRESENCE_REFRESH_S)
        table(60)
        per_process()
        stores(PRESENCE_REFRESH_S)
        print(f"light-load bound: {MSG_PER_S:,} x {CPU_MS_PER_MSG_LIGHT_LOAD} ms = {MSG_PER_S * CPU_MS_PER_MSG_LIGHT_LOAD / 1000:,.0f} cores for the send path")
