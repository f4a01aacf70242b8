import type { LocalMQ } from '../server/local-mq.js';

/** The variables the global setups export, with guest's credentials in the URLs. */
export interface BrokerEnv {
  AMQP_URL: string;
  STOMP_URL: string;
  MQTT_URL: string;
  LOCALMQ_HTTP_URL: string;
}

/** url with user:password, or '' when that listener is off */
function withCredentials(url: string | undefined, user: string, password: string): string {
  if (!url) return '';
  const u = new URL(url);
  u.username = encodeURIComponent(user);
  u.password = encodeURIComponent(password);
  return u.toString().replace(/\/$/, '');
}

export function brokerEnv(broker: LocalMQ, user = 'guest', password = 'guest'): BrokerEnv {
  return {
    AMQP_URL: withCredentials(broker.urls.amqp, user, password),
    STOMP_URL: withCredentials(broker.urls.stomp, user, password),
    MQTT_URL: withCredentials(broker.urls.mqtt, user, password),
    LOCALMQ_HTTP_URL: broker.urls.http ?? '',
  };
}
