import static java.util.concurrent.TimeUnit.MILLISECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;

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
 * ActiveMQ features beyond the first list, each scenario naming the ActiveMQ
 * behaviour it pins (run through JmsScenarios' main: `RESULT <name> OK|FAIL`). Each also
 * passes against Debian's ActiveMQ 5.17 (bench/activemq-observed.md, OpenWire features).
 */
public class JmsFeatures {
  static boolean run(String name) throws Exception {
    switch (name) {
      case "producerWindow": producerWindow(); return true;
      case "consumerAdvisory": consumerAdvisory(); return true;
      case "producerAdvisory": producerAdvisory(); return true;
      case "priorityProbe": priorityProbe(); return true;
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

  static void priorityProbe() throws Exception {
    Connection c = factory().createConnection();
    try {
      c.start();
      Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
      Queue q = s.createQueue(JmsScenarios.unique("prio"));
      MessageProducer p = s.createProducer(q);
      int[] prios = {1, 9, 4, 0, 7, 4, 9, 2};
      for (int mode : new int[] {DeliveryMode.PERSISTENT, DeliveryMode.NON_PERSISTENT}) {
        for (int i = 0; i < prios.length; i++) {
          TextMessage m = s.createTextMessage("m" + i);
          p.send(m, mode, prios[i], 0);
        }
        MessageConsumer consumer = s.createConsumer(q);
        StringBuilder got = new StringBuilder();
        for (int i = 0; i < prios.length; i++) { Message m = consumer.receive(3000); got.append(m.getJMSPriority()).append(' '); }
        consumer.close();
        System.out.println("GOT mode " + mode + ": " + got);
      }
    } finally {
      c.close();
    }
  }
}
