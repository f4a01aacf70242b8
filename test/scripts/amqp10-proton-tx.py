"""AMQP 1.0 local transactions with python-qpid-proton (its Transaction API, part 4 of the spec).

Usage: amqp10-proton-tx.py URL ADDRESS SCENARIO
  publish  txn 1 sends p0, p1 and commits; txn 2 sends p2 and aborts
  consume  receives 2 messages (the queue must hold them); txn 1 accepts both and aborts
           (dispositions unsettled until the discharge: proton releases them after the abort);
           receives them again, and txn 2 accepts them and commits
  consume-settled  the same with settle-before-discharge (as JMS clients settle): after the
           abort the broker sends the messages again itself, as failed deliveries
Prints one JSON object per line for each event, then {"done": true}; errors end the run.
"""
import json
import sys

from proton.handlers import MessagingHandler, TransactionHandler
from proton.reactor import Container
from proton import Message

url, address, scenario = sys.argv[1], sys.argv[2], sys.argv[3]


def emit(**kv):
    print(json.dumps(kv), flush=True)


class Run(MessagingHandler, TransactionHandler):
    def __init__(self):
        super(Run, self).__init__(prefetch=0, auto_accept=False, auto_settle=True)
        self.txns = 0
        self.received = []
        self.settle_first = scenario == "consume-settled"

    def on_start(self, event):
        self.container = event.container
        self.conn = event.container.connect(url, allowed_mechs="PLAIN")
        if scenario == "publish":
            self.sender = event.container.create_sender(self.conn, address)
        else:
            self.receiver = event.container.create_receiver(self.conn, address)
            self.receiver.flow(2)
        self.declare()

    def declare(self):
        self.container.declare_transaction(self.conn, handler=self, settle_before_discharge=self.settle_first)

    def on_transaction_declared(self, event):
        self.txns += 1
        self.txn = event.transaction
        emit(event="declared", txn=self.txns, id=self.txn.id.hex() if isinstance(self.txn.id, bytes) else str(self.txn.id))
        if scenario == "publish":
            if self.txns == 1:
                self.txn.send(self.sender, Message(body="p0", durable=True))
                self.txn.send(self.sender, Message(body="p1", durable=True))
                self.txn.commit()
            else:
                self.txn.send(self.sender, Message(body="p2", durable=True))
                self.txn.abort()
        else:
            self.accept_received()

    def accept_received(self):
        if len(self.received) < 2:
            return
        batch, self.received = self.received, []
        for d in batch:
            self.txn.accept(d)
        if self.txns == 1:
            self.txn.abort()
        else:
            self.txn.commit()

    def on_message(self, event):
        emit(event="message", body=event.message.body, delivery_count=event.message.delivery_count, txn=self.txns)
        self.received.append(event.delivery)
        if getattr(self, "txn", None) is not None:
            self.accept_received()

    def on_settled(self, event):
        if scenario == "publish":
            emit(event="settled", state=str(event.delivery.remote_state))

    def on_transaction_committed(self, event):
        emit(event="committed", txn=self.txns)
        self.txn = None
        if scenario == "publish":
            self.declare()
        else:
            self.finish()

    def on_transaction_aborted(self, event):
        emit(event="aborted", txn=self.txns)
        self.txn = None
        if scenario == "publish":
            return self.finish()
        # consume: proton itself releases what the aborted transaction had accepted;
        # consume-settled: they were settled before the discharge, and the broker sends them again
        self.receiver.flow(2)
        self.declare()

    def on_transaction_declare_failed(self, event):
        emit(event="declare_failed", condition=str(event.delivery.remote_state))
        self.conn.close()

    def on_transaction_commit_failed(self, event):
        emit(event="commit_failed", condition=str(event.delivery.remote_state))
        self.conn.close()

    def finish(self):
        emit(done=True)
        self.conn.close()

    def on_transport_error(self, event):
        cond = event.transport.condition
        emit(event="transport_error", condition=cond.name if cond else None, description=cond.description if cond else None)

    def on_connection_error(self, event):
        cond = event.connection.remote_condition
        emit(event="connection_error", condition=cond.name if cond else None, description=cond.description if cond else None)


Container(Run()).run()
