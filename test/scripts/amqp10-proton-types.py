"""Receive messages over AMQP 1.0 with python-qpid-proton and print their exact AMQP types.

Usage: amqp10-proton-types.py URL ADDRESS COUNT
Receives COUNT messages from ADDRESS (accepting each) and prints one JSON object: per
message its body section (`inferred` is true for data and amqp-sequence, false for
amqp-value), the body with every value as [type, value] (proton's classes: int32, long,
short, byte, float32, char, symbol, ulong...; bytes in hex), content type, annotations and
application properties.
"""
import json
import sys

from proton.utils import BlockingConnection


def typed(v):
    if isinstance(v, dict):
        return ["map", [[typed(k), typed(x)] for k, x in v.items()]]
    if isinstance(v, list):
        return ["list", [typed(x) for x in v]]
    if isinstance(v, (bytes, memoryview)):
        return ["binary", bytes(v).hex()]
    if v is None:
        return ["null", None]
    name = type(v).__name__
    return [name, v if isinstance(v, (bool, int, float, str)) else str(v)]


url, address, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
conn = BlockingConnection(url, timeout=10, allowed_mechs="PLAIN")
receiver = conn.create_receiver(address, credit=count)
got = []
for _ in range(count):
    m = receiver.receive(timeout=10)
    got.append({
        "inferred": m.inferred,
        "body": typed(m.body),
        "content_type": None if m.content_type in (None, "None") else str(m.content_type),
        "annotations": {str(k): typed(v) for k, v in (m.annotations or {}).items()},
        "properties": {str(k): typed(v) for k, v in (m.properties or {}).items()},
    })
    receiver.accept()
conn.close()
print(json.dumps({"received": got}))
