import static java.util.concurrent.TimeUnit.MILLISECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import org.apache.activemq.advisory.ConsumerEvent;
import org.apache.activemq.advisory.ConsumerEventSource;
import org.apache.activemq.advisory.ProducerEvent;
import org.apache.activemq.advisory.ProducerEventSource;
import org.apache.activemq.command.ActiveMQMessage;
import org.apache.activemq.command.ConsumerInfo;
import org.apache.activemq.command.ProducerInfo;
import org.apache.activemq.command.RemoveInfo;
import java.io.BufferedReader;
import java.io.FileInputStream;
import java.io.InputStreamReader;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.Enumeration;
import java.util.UUID;
import javax.jms.*;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import org.apache.activemq.ActiveMQConnection;
import org.apache.activemq.ActiveMQConnectionFactory;
import org.apache.activemq.ActiveMQSslConnectionFactory;
import org.apache.activemq.RedeliveryPolicy;

/**
 * Drives a broker with the real ActiveMQ JMS client: one JVM runs the scenarios named on
 * the command line against one broker URL and prints `RESULT <name> OK` or
 * `RESULT <name> FAIL <why>` for each. Scenarios that need the broker restarted print
 * `WAIT <what>` and read a line from stdin before going on.
 *
 * Usage: java JmsScenarios <broker-url> <scenario>... (system property ca=<pem file> for ssl)
 */
public class JmsScenarios {
  static String url;
  static final BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in));

  public static void main(String[] args) throws Exception {
    url = args[0];
    for (int i = 1; i < args.length; i++) {
      String name = args[i];
      try {
        run(name);
        System.out.println("RESULT " + name + " OK");
      } catch (Throwable t) {
        String msg = (t.getClass().getName() + ": " + t.getMessage()).replace('\n', ' ');
        System.out.println("RESULT " + name + " FAIL " + msg);
      }
      System.out.flush();
    }
    System.exit(0);
  }

  static void check(boolean cond, String what) {
    if (!cond) throw new AssertionError(what);
  }

  static String unique(String base) {
    return base + "." + UUID.randomUUID().toString().substring(0, 8);
  }

  static ActiveMQConnectionFactory factory() {
    return new ActiveMQConnectionFactory(url);
  }

  /** a scenario's parameters: `name=arg1=arg2` */
  static String[] params = new String[0];

  static void run(String spec) throws Exception {
    String[] parts = spec.split("=");
    String name = parts[0];
    params = java.util.Arrays.copyOfRange(parts, 1, parts.length);
    switch (name) {
      case "example": example(); break;
      case "consume": consume(); break;
      case "types": types(); break;
      case "requestReply": requestReply(); break;
      case "transacted": transacted(); break;
      case "clientAck": clientAck(); break;
      case "dlq": dlq(); break;
      case "durable": durable(); break;
      case "durableRestart": durableRestart(); break;
      case "failover": failover(); break;
      case "pull": pull(); break;
      case "wrongPassword": wrongPassword(); break;
      case "ssl": ssl(); break;
      case "selector": selector(); break;
      case "browse": browse(); break;
      case "badSelector": badSelector(); break;
      case "topic": topic(); break;
      case "sendTo": sendTo(); break;
      case "receiveFrom": receiveFrom(); break;
      default:
        if (!JmsFeatures.run(name)) throw new IllegalArgumentException("unknown scenario " + name);
    }
  }

  /** the program from issue 12, verbatim */
  static void example() throws Exception {
    ConnectionFactory factory = new ActiveMQConnectionFactory(url);
    Connection connection = factory.createConnection();
    Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
    Queue queue = session.createQueue("test.queue");
    MessageProducer producer = session.createProducer(queue);
    TextMessage message = session.createTextMessage("Hello ActiveMQ!");
    producer.send(message);
    session.close();
    connection.close();
  }

  /** a consumer receiving what the example sent */
  static void consume() throws Exception {
    Connection c = factory().createConnection();
    try {
      c.start();
      Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
      MessageConsumer consumer = s.createConsumer(s.createQueue("test.queue"));
      Message m = consumer.receive(5000);
      check(m instanceof TextMessage, "expected a TextMessage, got " + m);
      check("Hello ActiveMQ!".equals(((TextMessage) m).getText()), "text " + ((TextMessage) m).getText());
      check(m.getJMSDeliveryMode() == DeliveryMode.PERSISTENT, "persistent by default");
      check(m.getJMSMessageID() != null && m.getJMSMessageID().startsWith("ID:"), "message id " + m.getJMSMessageID());
      check(!m.getJMSRedelivered(), "not redelivered");
    } finally {
      c.close();
    }
  }

  static void types() throws Exception {
    Connection c = factory().createConnection();
    try {
      c.start();
      Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
      Queue q = s.createQueue(unique("types"));
      MessageProducer p = s.createProducer(q);
      TextMessage t = s.createTextMessage("héllo wörld \u20ac \ud83d\ude00");
      t.setStringProperty("str", "v");
      t.setIntProperty("int", 42);
      t.setLongProperty("long", 1L << 40);
      t.setBooleanProperty("bool", true);
      t.setDoubleProperty("dbl", 2.5);
      t.setShortProperty("short", (short) 7);
      t.setJMSCorrelationID("corr-1");
      t.setJMSType("my-type");
      p.send(t, DeliveryMode.NON_PERSISTENT, 7, 60000);
      BytesMessage b = s.createBytesMessage();
      b.writeBytes(new byte[] {0, 1, 2, (byte) 255});
      b.setStringProperty("kind", "bytes");
      p.send(b);
      MapMessage m = s.createMapMessage();
      m.setString("name", "localmq");
      m.setInt("n", 3);
      m.setBoolean("b", true);
      m.setBytes("raw", new byte[] {9, 8});
      p.send(m);
      StreamMessage sm = s.createStreamMessage();
      sm.writeString("a");
      sm.writeInt(5);
      p.send(sm);
      ObjectMessage om = s.createObjectMessage("serialized string");
      p.send(om);
      MessageConsumer consumer = s.createConsumer(q);
      // JMS orders messages only within one delivery mode: ActiveMQ 5.17 hands out the
      // persistent ones ahead of an earlier non-persistent one, so collect them by type
      java.util.Map<String, Message> byType = new java.util.HashMap<>();
      for (int i = 0; i < 5; i++) {
        Message got = consumer.receive(5000);
        check(got != null, "message " + i + " of 5");
        String kind = got instanceof TextMessage ? "text" : got instanceof BytesMessage ? "bytes" : got instanceof MapMessage ? "map" : got instanceof StreamMessage ? "stream" : got instanceof ObjectMessage ? "object" : "other";
        byType.put(kind, got);
      }
      TextMessage rt = (TextMessage) byType.get("text");
      check(rt != null, "text received");
      check(t.getText().equals(rt.getText()), "text body " + rt.getText());
      check("v".equals(rt.getStringProperty("str")), "str");
      check(rt.getIntProperty("int") == 42, "int");
      check(rt.getObjectProperty("int") instanceof Integer, "int stays an Integer");
      check(rt.getLongProperty("long") == (1L << 40), "long");
      check(rt.getBooleanProperty("bool"), "bool");
      check(rt.getDoubleProperty("dbl") == 2.5, "double");
      check(rt.getShortProperty("short") == 7, "short");
      check("corr-1".equals(rt.getJMSCorrelationID()), "correlation id");
      check("my-type".equals(rt.getJMSType()), "type");
      check(rt.getJMSPriority() == 7, "priority " + rt.getJMSPriority());
      check(rt.getJMSDeliveryMode() == DeliveryMode.NON_PERSISTENT, "non-persistent");
      check(rt.getJMSExpiration() > System.currentTimeMillis(), "expiration in the future");
      check(rt.getJMSTimestamp() == t.getJMSTimestamp(), "timestamp kept");
      check(rt.getJMSMessageID().equals(t.getJMSMessageID()), "message id kept");
      BytesMessage rb = (BytesMessage) byType.get("bytes");
      check(rb != null && rb.getBodyLength() == 4, "bytes length");
      byte[] got = new byte[4];
      rb.readBytes(got);
      check(got[3] == (byte) 255 && got[1] == 1, "bytes body");
      check("bytes".equals(rb.getStringProperty("kind")), "bytes property");
      MapMessage rm = (MapMessage) byType.get("map");
      check(rm != null, "map received");
      check("localmq".equals(rm.getString("name")) && rm.getInt("n") == 3 && rm.getBoolean("b"), "map entries");
      check(rm.getBytes("raw").length == 2, "map bytes");
      StreamMessage rs = (StreamMessage) byType.get("stream");
      check(rs != null && "a".equals(rs.readString()) && rs.readInt() == 5, "stream");
      Message ro = byType.get("object");
      check(ro instanceof ObjectMessage, "object message " + ro);
    } finally {
      c.close();
    }
  }

  static void requestReply() throws Exception {
    Connection server = factory().createConnection();
    Connection client = factory().createConnection();
    try {
      server.start();
      client.start();
      String service = unique("service");
      Session ss = server.createSession(false, Session.AUTO_ACKNOWLEDGE);
      MessageConsumer requests = ss.createConsumer(ss.createQueue(service));
      MessageProducer replies = ss.createProducer(null);
      requests.setMessageListener(msg -> {
        try {
          TextMessage reply = ss.createTextMessage("re: " + ((TextMessage) msg).getText());
          reply.setJMSCorrelationID(msg.getJMSCorrelationID());
          replies.send(msg.getJMSReplyTo(), reply);
        } catch (JMSException e) {
          e.printStackTrace();
        }
      });
      Session cs = client.createSession(false, Session.AUTO_ACKNOWLEDGE);
      TemporaryQueue replyTo = cs.createTemporaryQueue();
      MessageProducer p = cs.createProducer(cs.createQueue(service));
      // a decoy reply with another correlation id first: the selector must skip it
      String corr = UUID.randomUUID().toString();
      TextMessage decoy = cs.createTextMessage("decoy");
      decoy.setJMSCorrelationID("other");
      cs.createProducer(replyTo).send(decoy);
      MessageConsumer answers = cs.createConsumer(replyTo, "JMSCorrelationID = '" + corr + "'");
      TextMessage req = cs.createTextMessage("ping");
      req.setJMSReplyTo(replyTo);
      req.setJMSCorrelationID(corr);
      p.send(req);
      TextMessage answer = (TextMessage) answers.receive(5000);
      check(answer != null, "a reply");
      check("re: ping".equals(answer.getText()), "reply text " + answer.getText());
      check(corr.equals(answer.getJMSCorrelationID()), "correlation id");
      answers.close();
      replyTo.delete();
    } finally {
      client.close();
      server.close();
    }
  }

  static void transacted() throws Exception {
    Connection c = factory().createConnection();
    try {
      c.start();
      Queue q;
      Session ts = c.createSession(true, Session.SESSION_TRANSACTED);
      q = ts.createQueue(unique("tx"));
      MessageProducer p = ts.createProducer(q);
      p.send(ts.createTextMessage("one"));
      Session plain = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
      MessageConsumer watcher = plain.createConsumer(q);
      check(watcher.receive(300) == null, "nothing before commit");
      watcher.close();
      ts.commit();
      MessageConsumer consumer = ts.createConsumer(q);
      TextMessage m = (TextMessage) consumer.receive(5000);
      check(m != null && "one".equals(m.getText()), "delivered after commit");
      check(!m.getJMSRedelivered(), "first delivery");
      ts.rollback();
      TextMessage again = (TextMessage) consumer.receive(5000);
      check(again != null && "one".equals(again.getText()), "redelivered after rollback");
      check(again.getJMSRedelivered(), "JMSRedelivered after rollback");
      check(again.getIntProperty("JMSXDeliveryCount") == 2, "delivery count " + again.getIntProperty("JMSXDeliveryCount"));
      ts.commit();
      consumer.close();
      MessageConsumer after = plain.createConsumer(q);
      check(after.receive(300) == null, "consumed for good after commit");
    } finally {
      c.close();
    }
  }

  static void clientAck() throws Exception {
    Connection c = factory().createConnection();
    Queue q;
    try {
      c.start();
      Session s = c.createSession(false, Session.CLIENT_ACKNOWLEDGE);
      q = s.createQueue(unique("clientack"));
      MessageProducer p = s.createProducer(q);
      p.send(s.createTextMessage("a"));
      p.send(s.createTextMessage("b"));
      MessageConsumer consumer = s.createConsumer(q);
      Message a = consumer.receive(5000);
      Message b = consumer.receive(5000);
      check(a != null && b != null, "both received");
      s.recover();
      Message a2 = consumer.receive(5000);
      check(a2 != null && a2.getJMSRedelivered(), "recover redelivers");
      Message b2 = consumer.receive(5000);
      check(b2 != null, "second again");
      b2.acknowledge();
    } finally {
      c.close();
    }
    Connection c2 = factory().createConnection();
    try {
      c2.start();
      Session s = c2.createSession(false, Session.AUTO_ACKNOWLEDGE);
      check(s.createConsumer(q).receive(500) == null, "acknowledged messages are gone");
    } finally {
      c2.close();
    }
  }

  static void dlq() throws Exception {
    ActiveMQConnectionFactory f = factory();
    // the default policy (6 redeliveries) without its 1 s back-off, to keep the run short
    f.getRedeliveryPolicy().setInitialRedeliveryDelay(0);
    f.getRedeliveryPolicy().setRedeliveryDelay(0);
    Connection c = f.createConnection();
    try {
      c.start();
      Session ts = c.createSession(true, Session.SESSION_TRANSACTED);
      Queue q = ts.createQueue(unique("poison"));
      TextMessage m = ts.createTextMessage("poison");
      m.setStringProperty("marker", q.getQueueName());
      ts.createProducer(q).send(m);
      ts.commit();
      MessageConsumer consumer = ts.createConsumer(q);
      int deliveries = 0;
      for (;;) {
        Message got = consumer.receive(2000);
        if (got == null) break;
        deliveries++;
        ts.rollback();
      }
      check(deliveries == 7, "1 delivery + 6 redeliveries, got " + deliveries);
      Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
      MessageConsumer dlq = s.createConsumer(s.createQueue("ActiveMQ.DLQ"), "marker = '" + q.getQueueName() + "'");
      Message dead = dlq.receive(5000);
      check(dead != null, "the message is on ActiveMQ.DLQ");
      String cause = dead.getStringProperty("dlqDeliveryFailureCause");
      check(cause != null && cause.contains("redelivery policy"), "dlqDeliveryFailureCause " + cause);
      // ActiveMQ 5.17: a DLQ copy never expires and keeps what it had as originalExpiration (a Long, 0: none)
      check(dead.getJMSExpiration() == 0, "no expiry on the DLQ copy: " + dead.getJMSExpiration());
      check(Long.valueOf(0).equals(dead.getObjectProperty("originalExpiration")), "originalExpiration 0L: " + dead.getObjectProperty("originalExpiration"));
      // and names where it was as its originalDestination, a field, not a property (ActiveMQ 5.17, /tmp/s15-fidelity/DlqCountProbe.java)
      Destination original = ((ActiveMQMessage) dead).getOriginalDestination();
      check(q.equals(original), "originalDestination " + original);
      check(dead.getObjectProperty("original-destination") == null, "no original-destination property: " + dead.getObjectProperty("original-destination"));
    } finally {
      c.close();
    }
  }

  static void durable() throws Exception {
    String clientId = unique("durable-client");
    String topicName = unique("news");
    Connection c = factory().createConnection();
    c.setClientID(clientId);
    c.start();
    Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
    Topic topic = s.createTopic(topicName);
    TopicSubscriber sub = s.createDurableSubscriber(topic, "sub1");
    MessageProducer p = s.createProducer(topic);
    p.send(s.createTextMessage("while here"));
    check(sub.receive(5000) != null, "live message");
    c.close();
    Connection other = factory().createConnection();
    other.start();
    Session os = other.createSession(false, Session.AUTO_ACKNOWLEDGE);
    os.createProducer(os.createTopic(topicName)).send(os.createTextMessage("while away"));
    other.close();
    Connection back = factory().createConnection();
    back.setClientID(clientId);
    back.start();
    try {
      Session bs = back.createSession(false, Session.AUTO_ACKNOWLEDGE);
      TopicSubscriber again = bs.createDurableSubscriber(bs.createTopic(topicName), "sub1");
      TextMessage m = (TextMessage) again.receive(5000);
      check(m != null && "while away".equals(m.getText()), "kept while away: " + m);
      // ActiveMQ 5.17 (/tmp/s15-fidelity/UnsubActive.java): one subscriber at a time, even on one
      // session; no removal while it reads (TopicRegion's two texts)
      String second = refusal(() -> bs.createDurableSubscriber(bs.createTopic(topicName), "sub1"));
      check(("javax.jms.JMSException: Durable consumer is in use for client: " + clientId + " and subscriptionName: sub1").equals(second), "second subscriber: " + second);
      String busy = refusal(() -> bs.unsubscribe("sub1"));
      check("javax.jms.JMSException: Durable consumer is in use".equals(busy), "unsubscribe while it reads: " + busy);
      again.close();
      bs.unsubscribe("sub1");
    } finally {
      back.close();
    }
  }

  interface JmsCall {
    void run() throws JMSException;
  }

  /** what a JMS call threw (`class: text`), or null when it did not */
  static String refusal(JmsCall call) {
    try {
      call.run();
      return null;
    } catch (JMSException e) {
      return e.toString();
    }
  }

  /** a durable subscriber across a broker restart (the test restarts the broker on WAIT) */
  static void durableRestart() throws Exception {
    String clientId = "restart-client";
    String topicName = "restart.news";
    Connection c = factory().createConnection();
    c.setClientID(clientId);
    c.start();
    Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
    s.createDurableSubscriber(s.createTopic(topicName), "keep").close();
    MessageProducer p = s.createProducer(s.createTopic(topicName));
    p.send(s.createTextMessage("before restart"));
    c.close();
    System.out.println("WAIT restart");
    System.out.flush();
    stdin.readLine();
    Connection back = factory().createConnection();
    back.setClientID(clientId);
    back.start();
    try {
      Session bs = back.createSession(false, Session.AUTO_ACKNOWLEDGE);
      TopicSubscriber again = bs.createDurableSubscriber(bs.createTopic(topicName), "keep");
      TextMessage m = (TextMessage) again.receive(5000);
      check(m != null && "before restart".equals(m.getText()), "kept across the restart: " + m);
    } finally {
      back.close();
    }
  }

  /** failover: reconnects after the broker restarts (the test restarts it on WAIT) */
  static void failover() throws Exception {
    ActiveMQConnectionFactory f = new ActiveMQConnectionFactory("failover:(" + url + ")?initialReconnectDelay=100&maxReconnectDelay=500");
    Connection c = f.createConnection();
    try {
      c.start();
      Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
      Queue q = s.createQueue("failover.queue");
      MessageProducer p = s.createProducer(q);
      p.send(s.createTextMessage("before"));
      System.out.println("WAIT restart");
      System.out.flush();
      stdin.readLine();
      p.send(s.createTextMessage("after"));
      MessageConsumer consumer = s.createConsumer(q);
      boolean sawAfter = false;
      for (int i = 0; i < 3 && !sawAfter; i++) {
        TextMessage m = (TextMessage) consumer.receive(5000);
        if (m != null && "after".equals(m.getText())) sawAfter = true;
      }
      check(sawAfter, "a send after the restart goes through the reconnected transport");
    } finally {
      c.close();
    }
  }

  static void pull() throws Exception {
    ActiveMQConnectionFactory f = factory();
    f.getPrefetchPolicy().setQueuePrefetch(0);
    Connection c = f.createConnection();
    try {
      c.start();
      Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
      Queue q = s.createQueue(unique("pull"));
      MessageConsumer consumer = s.createConsumer(q);
      check(consumer.receiveNoWait() == null, "nothing yet");
      check(consumer.receive(200) == null, "nothing after a timeout");
      MessageProducer p = s.createProducer(q);
      p.send(s.createTextMessage("1"));
      p.send(s.createTextMessage("2"));
      // a second consumer with prefetch 0 gets the second message: nothing was pushed ahead
      Session s2 = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
      MessageConsumer other = s2.createConsumer(q);
      TextMessage m1 = (TextMessage) consumer.receive(5000);
      TextMessage m2 = (TextMessage) other.receive(5000);
      check(m1 != null && "1".equals(m1.getText()), "first pull " + m1);
      check(m2 != null && "2".equals(m2.getText()), "second consumer pulls the next " + m2);
    } finally {
      c.close();
    }
  }

  static void wrongPassword() throws Exception {
    ActiveMQConnectionFactory f = factory();
    f.setUserName("nobody");
    f.setPassword("wrong");
    Connection c = f.createConnection();
    try {
      c.start();
      c.createSession(false, Session.AUTO_ACKNOWLEDGE);
      throw new AssertionError("a wrong password was accepted");
    } catch (JMSSecurityException expected) {
      check(expected.getMessage() != null, "message");
    } finally {
      try { c.close(); } catch (JMSException ignored) { }
    }
  }

  static void ssl() throws Exception {
    CertificateFactory cf = CertificateFactory.getInstance("X.509");
    KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
    ks.load(null, null);
    try (FileInputStream in = new FileInputStream(System.getProperty("ca"))) {
      int i = 0;
      for (Certificate cert : cf.generateCertificates(in)) ks.setCertificateEntry("ca" + i++, cert);
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    ActiveMQSslConnectionFactory f = new ActiveMQSslConnectionFactory(System.getProperty("sslUrl"));
    f.setKeyAndTrustManagers(null, tmf.getTrustManagers(), null);
    Connection c = f.createConnection();
    try {
      c.start();
      Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
      Queue q = s.createQueue(unique("tls"));
      s.createProducer(q).send(s.createTextMessage("over tls"));
      TextMessage m = (TextMessage) s.createConsumer(q).receive(5000);
      check(m != null && "over tls".equals(m.getText()), "round trip over TLS");
    } finally {
      c.close();
    }
  }

  static void selector() throws Exception {
    Connection c = factory().createConnection();
    try {
      c.start();
      Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
      Queue q = s.createQueue(unique("sel"));
      MessageProducer p = s.createProducer(q);
      for (int i = 0; i < 6; i++) {
        TextMessage m = s.createTextMessage("m" + i);
        m.setIntProperty("n", i);
        m.setStringProperty("color", i % 2 == 0 ? "red" : "blue");
        p.send(m);
      }
      MessageConsumer blue = s.createConsumer(q, "color = 'blue' AND n > 1");
      TextMessage b1 = (TextMessage) blue.receive(5000);
      TextMessage b2 = (TextMessage) blue.receive(5000);
      check(b1 != null && "m3".equals(b1.getText()), "first blue > 1: " + b1);
      check(b2 != null && "m5".equals(b2.getText()), "second blue > 1: " + b2);
      check(blue.receive(200) == null, "no more matches");
      MessageConsumer rest = s.createConsumer(q);
      int n = 0;
      while (rest.receive(500) != null) n++;
      check(n == 4, "the other four stay on the queue, got " + n);
    } finally {
      c.close();
    }
  }

  /**
   * A QueueBrowser over more messages than one slice of the broker's browse (16 384): every
   * message in order, then the end of the enumeration; with a selector only those it takes;
   * nothing consumed (ActiveMQ's QueueBrowser semantics).
   */
  static void browse() throws Exception {
    Connection c = factory().createConnection();
    try {
      c.start();
      Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
      Queue q = s.createQueue(unique("browse"));
      MessageProducer p = s.createProducer(q);
      p.setDeliveryMode(DeliveryMode.NON_PERSISTENT);
      int n = 20000;
      for (int i = 0; i < n; i++) {
        TextMessage m = s.createTextMessage("m" + i);
        m.setIntProperty("n", i);
        p.send(m);
      }
      int seen = 0;
      QueueBrowser all = s.createBrowser(q);
      for (java.util.Enumeration<?> e = all.getEnumeration(); e.hasMoreElements(); seen++) {
        TextMessage m = (TextMessage) e.nextElement();
        if (!("m" + seen).equals(m.getText())) {
          check(false, "browsed message " + seen + " is " + m.getText());
          return;
        }
      }
      all.close();
      check(seen == n, "browsed " + seen + " of " + n);
      QueueBrowser some = s.createBrowser(q, "n >= 19990 OR n = 7");
      StringBuilder got = new StringBuilder();
      for (java.util.Enumeration<?> e = some.getEnumeration(); e.hasMoreElements(); ) got.append(((TextMessage) e.nextElement()).getText()).append(' ');
      some.close();
      check("m7 m19990 m19991 m19992 m19993 m19994 m19995 m19996 m19997 m19998 m19999 ".equals(got.toString()), "browsed with a selector: " + got);
      TextMessage first = (TextMessage) s.createConsumer(q).receive(5000);
      check(first != null && "m0".equals(first.getText()), "nothing consumed by the browse: first " + first);
    } finally {
      c.close();
    }
  }

  static void badSelector() throws Exception {
    Connection c = factory().createConnection();
    try {
      c.start();
      Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
      try {
        s.createConsumer(s.createQueue("bad.selector"), "color = = 'x'");
        throw new AssertionError("a bad selector was accepted");
      } catch (InvalidSelectorException expected) {
        // as ActiveMQ
      }
    } finally {
      c.close();
    }
  }

  static void topic() throws Exception {
    Connection c = factory().createConnection();
    try {
      c.start();
      Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
      Topic t = s.createTopic(unique("events"));
      MessageConsumer a = s.createConsumer(t);
      MessageConsumer b = s.createConsumer(t);
      s.createProducer(t).send(s.createTextMessage("fan-out"));
      check(a.receive(5000) != null && b.receive(5000) != null, "both subscribers");
    } finally {
      c.close();
    }
  }

  /** cross-protocol (`sendTo=<dest>`, `topic://` for a topic): one text message and one bytes message, persistent */
  static void sendTo() throws Exception {
    Connection c = factory().createConnection();
    try {
      Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
      String dest = params[0];
      Destination d = dest.startsWith("topic://") ? s.createTopic(dest.substring(8)) : s.createQueue(dest);
      MessageProducer p = s.createProducer(d);
      TextMessage t = s.createTextMessage("text from jms");
      t.setStringProperty("origin", "jms");
      t.setJMSCorrelationID("c-1");
      p.send(t);
      BytesMessage b = s.createBytesMessage();
      b.writeBytes(new byte[] {1, 2, 3});
      p.send(b);
    } finally {
      c.close();
    }
  }

  /**
   * cross-protocol (`receiveFrom=<dest>=<count>`): subscribe, print `WAIT ready` (the test
   * then publishes from another protocol), and print each message as `GOT <type> <body> <props>`
   */
  static void receiveFrom() throws Exception {
    Connection c = factory().createConnection();
    try {
      c.start();
      Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
      String dest = params[0];
      int count = params.length > 1 ? Integer.parseInt(params[1]) : 1;
      Destination d = dest.startsWith("topic://") ? s.createTopic(dest.substring(8)) : s.createQueue(dest);
      MessageConsumer consumer = s.createConsumer(d);
      System.out.println("WAIT ready " + dest);
      System.out.flush();
      stdin.readLine();
      for (int i = 0; i < count; i++) {
        Message m = consumer.receive(10000);
        check(m != null, "message " + i);
        String body;
        String type;
        if (m instanceof TextMessage) {
          type = "text";
          body = ((TextMessage) m).getText();
        } else if (m instanceof BytesMessage) {
          type = "bytes";
          byte[] b = new byte[(int) ((BytesMessage) m).getBodyLength()];
          ((BytesMessage) m).readBytes(b);
          body = new String(b, "UTF-8");
        } else {
          type = m.getClass().getSimpleName();
          body = "";
        }
        StringBuilder props = new StringBuilder();
        for (Enumeration<?> e = m.getPropertyNames(); e.hasMoreElements();) {
          String k = (String) e.nextElement();
          props.append(k).append('=').append(m.getObjectProperty(k)).append(';');
        }
        String corr = m.getJMSCorrelationID();
        if (corr != null) props.append("JMSCorrelationID=").append(corr).append(';');
        System.out.println("GOT " + type + " " + body + " " + props);
      }
    } finally {
      c.close();
    }
  }
}

/**
 * ActiveMQ features beyond the issue's first list, each scenario naming the ActiveMQ
 * behaviour it pins (run through JmsScenarios' main: `RESULT <name> OK|FAIL`). Each also
 * passes against Debian's ActiveMQ 5.17 (bench/activemq-observed.md, OpenWire features).
 */
class JmsFeatures {
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
      case "expiredInPrefetch": expiredInPrefetch(); return true;
      case "watchAdvisories": watchAdvisories(); return true;
      case "watchConsumers": watchConsumers(); return true;
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

  /**
   * Advisories of other protocols' clients (`watchAdvisories=<advisory topic, wildcards allowed>=<count>`):
   * subscribe, print `WAIT advisories <topic>` (the test then subscribes, publishes, closes over STOMP, AMQP 1.0,
   * MQTT, AMQP 0-9-1), then print each advisory as
   * `GOT advisory <advisory topic> <data structure> dest=<destination> count=<consumerCount|producerCount> …`.
   */
  static void watchAdvisories() throws Exception {
    Connection c = factory().createConnection();
    try {
      c.start();
      Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
      MessageConsumer adv = s.createConsumer(s.createTopic(JmsScenarios.params[0]));
      int count = Integer.parseInt(JmsScenarios.params[1]);
      System.out.println("WAIT advisories " + JmsScenarios.params[0]);
      System.out.flush();
      JmsScenarios.stdin.readLine();
      for (int i = 0; i < count; i++) {
        Message m = adv.receive(10000);
        check(m instanceof ActiveMQMessage, "advisory " + i + " of " + count + ": " + m);
        ActiveMQMessage am = (ActiveMQMessage) m;
        Object data = am.getDataStructure();
        StringBuilder line = new StringBuilder("advisory ").append(((Topic) am.getJMSDestination()).getTopicName()).append(' ');
        line.append(data == null ? "null" : data.getClass().getSimpleName());
        if (data instanceof ConsumerInfo) {
          ConsumerInfo ci = (ConsumerInfo) data;
          line.append(" dest=").append(ci.getDestination()).append(" prefetch=").append(ci.getPrefetchSize());
          if (ci.getSelector() != null) line.append(" selector=").append(ci.getSelector());
          if (ci.getSubscriptionName() != null) line.append(" subscription=").append(ci.getSubscriptionName());
          check(ci.getConsumerId() != null && ci.getConsumerId().getConnectionId() != null, "a consumer id " + ci.getConsumerId());
        } else if (data instanceof ProducerInfo) {
          ProducerInfo pi = (ProducerInfo) data;
          line.append(" dest=").append(pi.getDestination());
          check(pi.getProducerId() != null && pi.getProducerId().getConnectionId() != null, "a producer id " + pi.getProducerId());
        } else if (data instanceof RemoveInfo) {
          line.append(" of=").append(((RemoveInfo) data).getObjectId().getClass().getSimpleName());
        }
        if (am.propertyExists("consumerCount")) line.append(" consumerCount=").append(am.getIntProperty("consumerCount"));
        if (am.propertyExists("producerCount")) line.append(" producerCount=").append(am.getIntProperty("producerCount"));
        System.out.println("GOT " + line);
        System.out.flush();
      }
      check(adv.receive(300) == null, "no more advisories");
    } finally {
      c.close();
    }
  }

  /**
   * The client's own advisory listener (`watchConsumers=<queue, or topic://name>=<count>`):
   * ConsumerEventSource on the destination, `WAIT consumers <destination>`, then `GOT consumers started|stopped <count>` per event.
   */
  static void watchConsumers() throws Exception {
    Connection c = factory().createConnection();
    try {
      c.start();
      Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
      String dest = JmsScenarios.params[0];
      Destination d = dest.startsWith("topic://") ? s.createTopic(dest.substring(8)) : s.createQueue(dest);
      int count = Integer.parseInt(JmsScenarios.params[1]);
      BlockingQueue<ConsumerEvent> events = new LinkedBlockingQueue<>();
      ConsumerEventSource source = new ConsumerEventSource(c, d);
      source.setConsumerListener(events::add);
      source.start();
      System.out.println("WAIT consumers " + dest);
      System.out.flush();
      JmsScenarios.stdin.readLine();
      for (int i = 0; i < count; i++) {
        ConsumerEvent e = events.poll(10, SECONDS);
        check(e != null, "consumer event " + i + " of " + count);
        System.out.println("GOT consumers " + describe(e));
        System.out.flush();
      }
      check(events.poll(300, MILLISECONDS) == null, "no more consumer events");
      source.stop();
    } finally {
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
      durable.setShortProperty("aShort", (short) 7);
      durable.setFloatProperty("aFloat", 1.5f);
      p.send(durable, DeliveryMode.PERSISTENT, 4, 200);
      long expiration = durable.getJMSExpiration();
      long timestamp = durable.getJMSTimestamp();
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
      check(Long.valueOf(expiration).equals(m.getObjectProperty("originalExpiration")), "originalExpiration " + expiration + "L: " + m.getObjectProperty("originalExpiration"));
      check(("java.lang.Throwable: Message Expired. Expiration:" + expiration).equals(cause), "dlqDeliveryFailureCause " + cause);
      // the copy is the producer's message (ActiveMQ 5.17, review-s15-2 Q2): its property types, its timestamp to the
      // ms, where it was as originalDestination (a field, no property)
      check(m.getObjectProperty("aShort") instanceof Short && m.getObjectProperty("aFloat") instanceof Float, "property types: " + m.getObjectProperty("aShort").getClass().getSimpleName() + " " + m.getObjectProperty("aFloat").getClass().getSimpleName());
      check(m.getJMSTimestamp() == timestamp, "JMSTimestamp " + timestamp + ": " + m.getJMSTimestamp());
      check(q.equals(((ActiveMQMessage) m).getOriginalDestination()), "originalDestination " + ((ActiveMQMessage) m).getOriginalDestination());
      check(m.getObjectProperty("original-destination") == null, "no original-destination property: " + m.getObjectProperty("original-destination"));
      check(dlq.receive(500) == null, "the non-persistent one is dropped");
    } finally {
      c.close();
    }
  }

  /**
   * A message that expires in a consumer's prefetch: the client passes over it and acks it as
   * expired. ActiveMQ 5.17 then puts it on ActiveMQ.DLQ once: JMSExpiration 0, originalExpiration
   * its expiration (a Long), dlqDeliveryFailureCause "java.lang.Throwable: Message Expired.
   * Expiration:<it>". (A copy that kept its expiration reached the DLQ's consumer expired: its
   * client acked it as expired again, which dead-lettered it again, round and round.)
   */
  static void expiredInPrefetch() throws Exception {
    Connection c = factory().createConnection();
    try {
      c.start();
      Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
      Queue q = s.createQueue(JmsScenarios.unique("expiredInPrefetch"));
      String probe = UUID.randomUUID().toString();
      // consuming before the sends: all three go to its prefetch (1000) at once
      MessageConsumer consumer = s.createConsumer(q);
      MessageProducer p = s.createProducer(q);
      long expiration = 0;
      for (String body : new String[] {"p0", "p1", "p2"}) {
        TextMessage m = s.createTextMessage(body);
        m.setStringProperty("probe", probe);
        p.send(m, DeliveryMode.PERSISTENT, 4, body.equals("p1") ? 300 : 0);
        if (body.equals("p1")) expiration = m.getJMSExpiration();
      }
      // until the clock (the broker's: same machine) is past p1's expiration
      for (long now = System.currentTimeMillis(); now <= expiration; now = System.currentTimeMillis()) Thread.sleep(expiration - now + 1);
      Message a = consumer.receive(5000);
      Message b = consumer.receive(5000);
      check(a instanceof TextMessage && "p0".equals(((TextMessage) a).getText()), "p0 first: " + a);
      check(b instanceof TextMessage && "p2".equals(((TextMessage) b).getText()), "p2 next (p1 expired in the prefetch): " + b);
      MessageConsumer dlq = s.createConsumer(s.createQueue("ActiveMQ.DLQ"), "probe = '" + probe + "'");
      Message m = dlq.receive(5000);
      check(m instanceof TextMessage && "p1".equals(((TextMessage) m).getText()), "p1 on ActiveMQ.DLQ: " + m);
      check(m.getJMSExpiration() == 0, "no expiry on the DLQ copy: " + m.getJMSExpiration());
      check(Long.valueOf(expiration).equals(m.getObjectProperty("originalExpiration")), "originalExpiration " + expiration + "L: " + m.getObjectProperty("originalExpiration"));
      String cause = m.getStringProperty("dlqDeliveryFailureCause");
      check(("java.lang.Throwable: Message Expired. Expiration:" + expiration).equals(cause), "dlqDeliveryFailureCause " + cause);
      check(dlq.receive(500) == null, "p1 once on the DLQ");
    } finally {
      c.close();
    }
  }
}
