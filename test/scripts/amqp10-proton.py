"""Send and receive over AMQP 1.0 with python-qpid-proton (a second, independent client).

Usage: amqp10-proton.py URL ADDRESS COUNT
Sends COUNT messages (text bodies, application properties, durable) to ADDRESS, then
receives them back from ADDRESS, accepting each, and prints one JSON object with what
came back.
"""
import json
import sys

from proton import Message
from proton.utils import BlockingConnection

url, address, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
conn = BlockingConnection(url, timeout=10, allowed_mechs="PLAIN")
sender = conn.create_sender(address)
for i in range(count):
    sender.send(Message(body="proton-%d" % i, durable=True, subject="s%d" % i, properties={"i": i, "lang": "python"}))
receiver = conn.create_receiver(address, credit=count)
got = []
for _ in range(count):
    m = receiver.receive(timeout=10)
    got.append({"body": m.body, "subject": m.subject, "durable": m.durable, "properties": m.properties})
    receiver.accept()
conn.close()
print(json.dumps({"received": got}))
