import java.util.Enumeration;
import javax.jms.BytesMessage;
import javax.jms.Connection;
import javax.jms.DeliveryMode;
import javax.jms.Destination;
import javax.jms.Message;
import javax.jms.MessageConsumer;
import javax.jms.MessageProducer;
import javax.jms.Session;
import javax.jms.MapMessage;
import javax.jms.MessageEOFException;
import javax.jms.ObjectMessage;
import javax.jms.StreamMessage;
import javax.jms.TextMessage;
import org.apache.activemq.ActiveMQConnectionFactory;

/**
 * The JMS headers across AMQP 1.0 and OpenWire (test/amqp10/jms-mapping.test.ts), with the
 * ActiveMQ JMS client:
 *   send URL QUEUE     a TextMessage and a BytesMessage with every JMS header set
 *   bodies URL QUEUE   a MapMessage, a StreamMessage and an ObjectMessage (every Java type
 *                      they hold) and a Message without a body
 *   object URL QUEUE   one ObjectMessage holding the list [a, b] (its serialized form)
 *   receive URL QUEUE N   N messages, each printed as one line of key=value fields; map
 *                      entries, stream items and objects as Class:value (no spaces)
 */
public class Amqp10JmsHeaders {
  public static void main(String[] args) throws Exception {
    ActiveMQConnectionFactory f = new ActiveMQConnectionFactory("guest", "guest", args[1]);
    // ObjectMessage.getObject of java.util.ArrayList (Debian's client trusts no package by default)
    f.setTrustAllPackages(true);
    Connection c = f.createConnection();
    try {
      c.start();
      Session s = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
      Destination d = s.createQueue(args[2]);
      if (args[0].equals("send")) {
        MessageProducer p = s.createProducer(d);
        TextMessage t = s.createTextMessage("jms text");
        t.setJMSCorrelationID("corr-1");
        t.setJMSType("jms-type");
        t.setJMSReplyTo(s.createQueue("jms.replies"));
        t.setStringProperty("JMSXGroupID", "g1");
        t.setIntProperty("JMSXGroupSeq", 3);
        t.setStringProperty("origin", "jms");
        t.setIntProperty("n", 42);
        p.send(t, DeliveryMode.PERSISTENT, 7, 60000);
        BytesMessage b = s.createBytesMessage();
        b.writeBytes(new byte[] {1, 2, 3});
        p.send(b, DeliveryMode.NON_PERSISTENT, 2, 0);
      } else if (args[0].equals("bodies")) {
        MessageProducer p = s.createProducer(d);
        MapMessage mm = s.createMapMessage();
        mm.setString("s", "text");
        mm.setInt("i", 42);
        mm.setLong("l", 1234567890123L);
        mm.setShort("sh", (short) 7);
        mm.setByte("by", (byte) -3);
        mm.setDouble("d", 2.5);
        mm.setFloat("f", 1.5f);
        mm.setBoolean("b", true);
        mm.setChar("c", 'x');
        mm.setBytes("bin", new byte[] {1, 2, 3});
        mm.setObject("nil", null);
        p.send(mm);
        StreamMessage sm = s.createStreamMessage();
        sm.writeString("one");
        sm.writeInt(2);
        sm.writeLong(3L);
        sm.writeBoolean(false);
        sm.writeDouble(4.5);
        sm.writeChar('z');
        sm.writeShort((short) 6);
        sm.writeByte((byte) 7);
        sm.writeFloat(8.5f);
        sm.writeBytes(new byte[] {9});
        p.send(sm);
        p.send(s.createObjectMessage(new java.util.ArrayList<String>(java.util.Arrays.asList("a", "b"))));
        Message plain = s.createMessage();
        plain.setStringProperty("kind", "plain");
        p.send(plain);
      } else {
        MessageConsumer consumer = s.createConsumer(d);
        int n = Integer.parseInt(args[3]);
        for (int i = 0; i < n; i++) {
          Message m = consumer.receive(10000);
          if (m == null) throw new RuntimeException("no message " + i);
          StringBuilder out = new StringBuilder("GOT");
          if (m instanceof TextMessage) out.append(" class=text body=").append(((TextMessage) m).getText());
          else if (m instanceof BytesMessage) {
            byte[] bytes = new byte[(int) ((BytesMessage) m).getBodyLength()];
            ((BytesMessage) m).readBytes(bytes);
            out.append(" class=bytes body=").append(bytes.length);
          } else if (m instanceof MapMessage) {
            out.append(" class=map");
            MapMessage mm = (MapMessage) m;
            for (Enumeration<?> e = mm.getMapNames(); e.hasMoreElements();) {
              String k = (String) e.nextElement();
              out.append(" map.").append(k).append('=').append(describe(mm.getObject(k)));
            }
          } else if (m instanceof StreamMessage) {
            out.append(" class=stream");
            StreamMessage sm = (StreamMessage) m;
            try {
              for (int k = 0; ; k++) out.append(" item.").append(k).append('=').append(describe(sm.readObject()));
            } catch (MessageEOFException eof) {
              // the end of the stream
            }
          } else if (m instanceof ObjectMessage) {
            out.append(" class=object body=").append(describe(((ObjectMessage) m).getObject()));
          } else out.append(" class=message");
          out.append(" persistent=").append(m.getJMSDeliveryMode() == DeliveryMode.PERSISTENT);
          out.append(" priority=").append(m.getJMSPriority());
          long exp = m.getJMSExpiration();
          out.append(" ttlLeft=").append(exp == 0 ? "none" : (exp - System.currentTimeMillis() > 0 ? "positive" : "expired"));
          out.append(" correlation=").append(m.getJMSCorrelationID());
          out.append(" type=").append(m.getJMSType());
          out.append(" replyTo=").append(m.getJMSReplyTo());
          out.append(" group=").append(m.getStringProperty("JMSXGroupID"));
          out.append(" groupSeq=").append(m.getObjectProperty("JMSXGroupSeq"));
          for (Enumeration<?> e = m.getPropertyNames(); e.hasMoreElements();) {
            String k = (String) e.nextElement();
            if (k.startsWith("JMSX")) continue;
            out.append(" prop.").append(k).append('=').append(m.getObjectProperty(k));
          }
          System.out.println(out);
        }
      }
    } finally {
      c.close();
    }
  }

  /** Class:value, bytes in hex, no spaces */
  static String describe(Object v) {
    if (v == null) return "null";
    String text;
    if (v instanceof byte[]) {
      StringBuilder hex = new StringBuilder();
      for (byte b : (byte[]) v) hex.append(String.format("%02x", b));
      text = hex.toString();
    } else text = String.valueOf(v);
    return v.getClass().getSimpleName() + ":" + text.replace(' ', '_');
  }
}
