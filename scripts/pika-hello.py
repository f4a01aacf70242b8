#!/usr/bin/python3
"""The seeds' pika example, unchanged except for the host/port: run it against a running
LocalMQ (or RabbitMQ) with `python3 scripts/pika-hello.py [host] [port]`. Needs python3-pika."""
import sys

import pika

host = sys.argv[1] if len(sys.argv) > 1 else 'localhost'
port = int(sys.argv[2]) if len(sys.argv) > 2 else 5672

connection = pika.BlockingConnection(pika.ConnectionParameters(host=host, port=port))
channel = connection.channel()
channel.queue_declare('hello')
channel.basic_publish(exchange='', routing_key='hello', body='Hello World!')
print(" [x] Sent 'Hello World!'")

# read it back so the run proves the round trip
method, properties, body = channel.basic_get('hello', auto_ack=True)
print(f" [x] Received {body!r}")
assert body == b'Hello World!', body
connection.close()
