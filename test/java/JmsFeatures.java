import static java.util.concurrent.TimeUnit.MILLISECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import javax.jms.*;
import org.apache.activemq.ActiveMQConnectionFactory;
import org.apache.activemq.advisory.ConsumerEvent;
import org.apache.activemq.advisory.ConsumerEventSource;
import org.apache.activemq.advisory.ProducerEvent;
import org.apache.activemq.advisory.ProducerEventSource;
import org.apache.activemq.command.ActiveMQMessage;
import org.apache.activemq.command.ConsumerInfo;
import org.apache.activemq.command.ProducerInfo;
import org.apache.activemq.command.RemoveInfo;

/**
 * ActiveMQ features beyond the issue's first list, each scenario naming the ActiveMQ
 * behaviour it pins (run through JmsScenarios' main: `RESULT <name> OK|FAIL`). Each also
 * passes against Debian's ActiveMQ 5.17 (bench/activemq-observed.md, OpenWire features).
 */
public class JmsFeatures {
  static boolean run(String name) throws Exception {
    switch (name) {
      case "producerWindow": producerWindow(); return true;
      case "consumerAdvisory": consumerAdvisory(); return true;
      case "producerAdvisory": producerAdvisory(); return true;
      case "messageGroups": messageGroups(); return true;
      case "wildcardQueue": wildcardQueue(); return true;
      case "priorityFifo": priority(false); return true;
      case "priority": priority(true); return true;
      case "expiry": expiry(); return true;
      default: return false;
    }
  }

  static void check(boolean cond, String what) {
    JmsScenarios.check(cond, what);
  }

  static ActiveMQConnectionFactory factory() {
    return JmsScenarios.factory();
  }

  static BytesMessage bytes(Session s, int size) throws JMSException {
    BytesMessage m = s.createBytesMessage();
    m.writeBytes(new byte[size]);
    return m;
  }

  /**
   * Producer flow control with a producer window (ActiveMQ's Queue.send: an async send from
   * a producer with windowSize > 0 is answered by a ProducerAck of the message's size): 300
   * async sends of 1 KiB through an 8 KiB window only finish if the broker sends ProducerAcks.
   */
  static void producerWindow() throws Exception {
    ActiveMQConnectionFactory f = factory();
    f.setProducerWindowSize(8 * 1024);
    Connection c = f.createConnection();
    try {
      c.start();
      Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
      Queue q = s.createQueue(JmsScenarios.unique("window"));
      MessageProducer p = s.createProducer(q);
      p.setDeliveryMode(DeliveryMode.NON_PERSISTENT);
      final int n = 300;
      final Exception[] failed = new Exception[1];
      Thread sender = new Thread(() -> {
        try {
          for (int i = 0; i < n; i++) p.send(bytes(s, 1024));
        } catch (Exception e) {
          failed[0] = e;
        }
      });
      sender.setDaemon(true);
      sender.start();
      sender.join(20_000);
      check(!sender.isAlive(), "the producer is blocked: its 8 KiB window was never given back (no ProducerAck)");
      check(failed[0] == null, "send failed: " + failed[0]);
      MessageConsumer consumer = s.createConsumer(q);
      for (int i = 0; i < n; i++) check(consumer.receive(5000) != null, "message " + i + " of " + n + " missing");
    } finally {
      c.close();
    }
  }

  /**
   * Consumer advisories (AdvisoryBroker.addConsumer/removeConsumer): a ConsumerInfo or a
   * RemoveInfo on ActiveMQ.Advisory.Consumer.Queue.<name> with the destination's
   * `consumerCount`, as the client's ConsumerEventSource reads them; a new advisory
   * subscriber is told the consumers that exist.
   */
  static void consumerAdvisory() throws Exception {
    Connection c = factory().createConnection();
    Connection other = factory().createConnection();
    try {
      c.start();
      Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
      Queue q = s.createQueue(JmsScenarios.unique("advised"));
      BlockingQueue<ConsumerEvent> events = new LinkedBlockingQueue<>();
      ConsumerEventSource source = new ConsumerEventSource(c, q);
      source.setConsumerListener(events::add);
      source.start();
      Session os = other.createSession(false, Session.AUTO_ACKNOWLEDGE);
      MessageConsumer c1 = os.createConsumer(q);
      ConsumerEvent e = events.poll(5, SECONDS);
      check(e != null && e.isStarted() && e.getConsumerCount() == 1, "first consumer: started, count 1, got " + describe(e));
      MessageConsumer c2 = os.createConsumer(q);
      e = events.poll(5, SECONDS);
      check(e != null && e.isStarted() && e.getConsumerCount() == 2, "second consumer: started, count 2, got " + describe(e));
      c1.close();
      e = events.poll(5, SECONDS);
      check(e != null && !e.isStarted() && e.getConsumerCount() == 1, "a consumer closed: stopped, count 1, got " + describe(e));
      // a new advisory subscriber hears of the consumer that exists (AdvisoryBroker's replay)
      MessageConsumer adv = s.createConsumer(s.createTopic("ActiveMQ.Advisory.Consumer.Queue." + q.getQueueName()));
      Message m = adv.receive(5000);
      check(m instanceof ActiveMQMessage, "replayed advisory " + m);
      ActiveMQMessage am = (ActiveMQMessage) m;
      check("Advisory".equals(am.getJMSType()), "JMSType Advisory: " + am.getJMSType());
      check(am.getDataStructure() instanceof ConsumerInfo, "data structure " + am.getDataStructure());
      check(((ConsumerInfo) am.getDataStructure()).getConsumerId().equals(((org.apache.activemq.ActiveMQMessageConsumer) c2).getConsumerId()), "the consumer that is there");
      check(am.getIntProperty("consumerCount") == 1, "consumerCount " + am.getIntProperty("consumerCount"));
      check(am.getStringProperty("originBrokerName") != null, "originBrokerName");
      // closing the connection removes its consumer: a RemoveInfo, count 0
      other.close();
      e = events.poll(5, SECONDS);
      check(e != null && !e.isStarted() && e.getConsumerCount() == 0, "connection closed: stopped, count 0, got " + describe(e));
      m = adv.receive(5000);
      check(m instanceof ActiveMQMessage && ((ActiveMQMessage) m).getDataStructure() instanceof RemoveInfo, "RemoveInfo advisory " + m);
      check(events.poll(300, MILLISECONDS) == null, "no more events");
      source.stop();
    } finally {
      other.close();
      c.close();
    }
  }

  static String describe(ConsumerEvent e) {
    return e == null ? "nothing" : (e.isStarted() ? "started" : "stopped") + " count " + e.getConsumerCount();
  }

  /**
   * Producer advisories (AdvisoryBroker.addProducer/removeProducer): ProducerInfo / RemoveInfo
   * on ActiveMQ.Advisory.Producer.Topic.<name> with `producerCount`, read by the client's
   * ProducerEventSource; a wildcard advisory subscription sees them too.
   */
  static void producerAdvisory() throws Exception {
    Connection c = factory().createConnection();
    Connection other = factory().createConnection();
    try {
      c.start();
      Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
      Topic t = s.createTopic(JmsScenarios.unique("produced"));
      BlockingQueue<ProducerEvent> events = new LinkedBlockingQueue<>();
      ProducerEventSource source = new ProducerEventSource(c, t);
      source.setProducerListener(events::add);
      source.start();
      MessageConsumer wild = s.createConsumer(s.createTopic("ActiveMQ.Advisory.Producer.Topic.>"));
      Session os = other.createSession(false, Session.AUTO_ACKNOWLEDGE);
      MessageProducer p1 = os.createProducer(t);
      ProducerEvent e = events.poll(5, SECONDS);
      check(e != null && e.isStarted() && e.getProducerCount() == 1, "producer started, count 1: " + (e == null ? "nothing" : e.isStarted() + " " + e.getProducerCount()));
      Message m = wild.receive(5000);
      check(m instanceof ActiveMQMessage && ((ActiveMQMessage) m).getDataStructure() instanceof ProducerInfo, "wildcard advisory subscriber: " + m);
      check(m.getIntProperty("producerCount") == 1, "producerCount " + m.getIntProperty("producerCount"));
      p1.close();
      e = events.poll(5, SECONDS);
      check(e != null && !e.isStarted() && e.getProducerCount() == 0, "producer stopped, count 0: " + (e == null ? "nothing" : e.isStarted() + " " + e.getProducerCount()));
      source.stop();
    } finally {
      other.close();
      c.close();
    }
  }

  /** a message listener collecting what one consumer got */
  static class Collector implements MessageListener {
    final String name;
    final BlockingQueue<Message> got = new LinkedBlockingQueue<>();

    Collector(String name) {
      this.name = name;
    }

    public void onMessage(Message m) {
      got.add(m);
    }
  }

  static TextMessage grouped(Session s, String group, int seq) throws JMSException {
    TextMessage m = s.createTextMessage(group + seq);
    m.setStringProperty("JMSXGroupID", group);
    m.setIntProperty("JMSXGroupSeq", seq);
    return m;
  }

  /**
   * Message groups (Queue.assignMessageGroup): every message of a JMSXGroupID goes to the
   * consumer that owns the group, the first one flagged JMSXGroupFirstForConsumer; when the
   * owner closes its groups move to another consumer; JMSXGroupSeq -1 closes a group (the
   * next message starts it afresh).
   */
  static void messageGroups() throws Exception {
    Connection c = factory().createConnection();
    try {
      c.start();
      Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
      Queue q = s.createQueue(JmsScenarios.unique("groups"));
      Session s1 = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
      Session s2 = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
      MessageConsumer mc1 = s1.createConsumer(q);
      MessageConsumer mc2 = s2.createConsumer(q);
      Collector c1 = new Collector("c1");
      Collector c2 = new Collector("c2");
      mc1.setMessageListener(c1);
      mc2.setMessageListener(c2);
      MessageProducer p = s.createProducer(q);
      String[] groups = {"A", "B", "C", "D"};
      for (int i = 1; i <= 3; i++) for (String g : groups) p.send(grouped(s, g, i));
      Map<String, Collector> owner = new HashMap<>();
      Map<String, Integer> firsts = new HashMap<>();
      for (int n = 0; n < 12; n++) {
        Message m = null;
        Collector from = null;
        long until = System.currentTimeMillis() + 5000;
        while (m == null && System.currentTimeMillis() < until) {
          m = c1.got.poll(10, MILLISECONDS);
          from = c1;
          if (m == null) {
            m = c2.got.poll(10, MILLISECONDS);
            from = c2;
          }
        }
        check(m != null, "message " + n + " of 12 missing");
        String g = m.getStringProperty("JMSXGroupID");
        Collector was = owner.putIfAbsent(g, from);
        check(was == null || was == from, "group " + g + " went to both consumers");
        if (m.getBooleanProperty("JMSXGroupFirstForConsumer")) firsts.merge(g, 1, Integer::sum);
      }
      for (String g : groups) check(firsts.getOrDefault(g, 0) == 1, "group " + g + ": one first-for-consumer message, got " + firsts.get(g));
      // the owner of A closes: A moves to the other consumer, flagged first again
      Collector ownerA = owner.get("A");
      Collector other = ownerA == c1 ? c2 : c1;
      (ownerA == c1 ? mc1 : mc2).close();
      p.send(grouped(s, "A", 4));
      Message m = other.got.poll(5, SECONDS);
      check(m != null && "A4".equals(((TextMessage) m).getText()), "A moves to the remaining consumer: " + m);
      check(m.getBooleanProperty("JMSXGroupFirstForConsumer"), "first for its new owner");
      p.send(grouped(s, "A", 5));
      m = other.got.poll(5, SECONDS);
      check(m != null && !m.getBooleanProperty("JMSXGroupFirstForConsumer"), "then not first: " + m);
      // JMSXGroupSeq -1 closes the group: the next message of A opens it again
      p.send(grouped(s, "A", -1));
      m = other.got.poll(5, SECONDS);
      check(m != null && !m.getBooleanProperty("JMSXGroupFirstForConsumer"), "the closing message goes to the owner: " + m);
      p.send(grouped(s, "A", 6));
      m = other.got.poll(5, SECONDS);
      check(m != null && m.getBooleanProperty("JMSXGroupFirstForConsumer"), "after the close the group starts afresh: " + m);
    } finally {
      c.close();
    }
  }

  /**
   * Wildcard queue consumers (ActiveMQ's `.` levels, `*` one level, `>` the rest): a
   * consumer on `<p>.>` reads every queue under `<p>`, those made later too; each message
   * names the queue it came from as its JMSDestination.
   */
  static void wildcardQueue() throws Exception {
    Connection c = factory().createConnection();
    try {
      c.start();
      Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
      String prefix = "wild" + UUID.randomUUID().toString().substring(0, 8);
      MessageProducer p = s.createProducer(null);
      p.send(s.createQueue(prefix + ".a"), s.createTextMessage("a"));
      p.send(s.createQueue(prefix + ".b.c"), s.createTextMessage("b.c"));
      p.send(s.createQueue(prefix + "x.no"), s.createTextMessage("not under the prefix"));
      MessageConsumer all = s.createConsumer(s.createQueue(prefix + ".>"));
      MessageConsumer one = s.createConsumer(s.createQueue(prefix + ".*"));
      List<String> got = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        Message m = all.receive(5000);
        check(m != null, "the wildcard consumer got " + got + " only");
        got.add(((TextMessage) m).getText() + "@" + ((Queue) m.getJMSDestination()).getQueueName());
      }
      check(got.contains("a@" + prefix + ".a") && got.contains("b.c@" + prefix + ".b.c"), "from both queues, each naming its own: " + got);
      // a queue made after the consumer
      p.send(s.createQueue(prefix + ".late"), s.createTextMessage("late"));
      Message m = all.receive(5000);
      if (m == null) m = one.receive(5000);
      check(m != null && "late".equals(((TextMessage) m).getText()), "a queue declared later is read too: " + m);
      check(all.receiveNoWait() == null && one.receive(300) == null, "nothing else");
    } finally {
      c.close();
    }
  }

  /**
   * Priority: with ActiveMQ's `prioritizedMessages` policy a queue hands out JMSPriority 9..0,
   * in send order within a priority; without it (ActiveMQ's and Amazon MQ's default) in send
   * order whatever the priority — both asked of ActiveMQ 5.17.
   */
  static void priority(boolean prioritized) throws Exception {
    Connection c = factory().createConnection();
    try {
      c.start();
      Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
      Queue q = s.createQueue(JmsScenarios.unique("prio"));
      MessageProducer p = s.createProducer(q);
      int[] prios = {1, 9, 4, 0, 7, 4, 9, 2};
      for (int i = 0; i < prios.length; i++) p.send(s.createTextMessage("m" + i), DeliveryMode.PERSISTENT, prios[i], 0);
      MessageConsumer consumer = s.createConsumer(q);
      StringBuilder got = new StringBuilder();
      for (int i = 0; i < prios.length; i++) {
        Message m = consumer.receive(5000);
        check(m != null, "message " + i + " missing");
        got.append(m.getJMSPriority()).append(':').append(((TextMessage) m).getText()).append(' ');
      }
      String want = prioritized ? "9:m1 9:m6 7:m4 4:m2 4:m5 2:m7 1:m0 0:m3 " : "1:m0 9:m1 4:m2 0:m3 7:m4 4:m5 9:m6 2:m7 ";
      check(want.equals(got.toString()), "order " + got + " (want " + want + ")");
    } finally {
      c.close();
    }
  }

  /**
   * Broker-side expiry (RegionBroker.messageExpired → sendToDeadLetterQueue with ActiveMQ's
   * default SharedDeadLetterStrategy, processExpired=true, processNonPersistent=false): an
   * expired persistent message goes to ActiveMQ.DLQ with dlqDeliveryFailureCause "Message
   * Expired…", an expired non-persistent one is dropped; neither reaches a consumer.
   */
  static void expiry() throws Exception {
    Connection c = factory().createConnection();
    try {
      c.start();
      Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
      Queue q = s.createQueue(JmsScenarios.unique("expiry"));
      String probe = UUID.randomUUID().toString();
      MessageProducer p = s.createProducer(q);
      TextMessage durable = s.createTextMessage("persistent");
      durable.setStringProperty("probe", probe);
      p.send(durable, DeliveryMode.PERSISTENT, 4, 200);
      TextMessage transient_ = s.createTextMessage("non-persistent");
      transient_.setStringProperty("probe", probe);
      p.send(transient_, DeliveryMode.NON_PERSISTENT, 4, 200);
      Thread.sleep(700);
      MessageConsumer consumer = s.createConsumer(q);
      check(consumer.receive(1000) == null, "an expired message reached a consumer");
      MessageConsumer dlq = s.createConsumer(s.createQueue("ActiveMQ.DLQ"), "probe = '" + probe + "'");
      Message m = dlq.receive(5000);
      check(m instanceof TextMessage && "persistent".equals(((TextMessage) m).getText()), "the persistent one on ActiveMQ.DLQ: " + m);
      String cause = m.getStringProperty("dlqDeliveryFailureCause");
      check(cause != null && cause.contains("Message Expired"), "dlqDeliveryFailureCause " + cause);
      check(m.getJMSExpiration() == 0, "no expiry on the DLQ copy: " + m.getJMSExpiration());
      check(dlq.receive(500) == null, "the non-persistent one is dropped");
    } finally {
      c.close();
    }
  }
}
