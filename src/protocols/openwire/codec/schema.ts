import { T } from './types.js';

/**
 * The fields of each OpenWire data structure in loose-encoding order (ActiveMQ's v12
 * marshallers; `since` marks fields older versions do not send). One table drives both
 * decoding and encoding.
 *
 * Kinds: bool/byte/int/long/string as DataInput writes them (strings and byte arrays
 * behind a presence boolean); `obj` a nested structure (presence boolean, type byte,
 * body; "cached" fields are the same while the cache is off, which LocalMQ negotiates);
 * `seq` an int-length byte sequence; `arr` a short-counted array of structures;
 * `exc` a Java throwable; `magic` 8 raw bytes.
 */
export type FieldKind = 'bool' | 'byte' | 'int' | 'long' | 'string' | 'obj' | 'seq' | 'arr' | 'exc' | 'magic';

export interface FieldSpec {
  name: string;
  kind: FieldKind;
  since?: number;
}

export interface StructSpec {
  name: string;
  /** commands start with commandId and responseRequired */
  command: boolean;
  fields: FieldSpec[];
}

const f = (spec: string): FieldSpec[] =>
  spec
    .split(/\s+/)
    .filter(Boolean)
    .map((s) => {
      const [name, kind, since] = s.split(':');
      return { name: name!, kind: kind as FieldKind, ...(since ? { since: Number(since) } : {}) };
    });

const MESSAGE_FIELDS = f(`producerId:obj destination:obj transactionId:obj originalDestination:obj messageId:obj
  originalTransactionId:obj groupId:string groupSequence:int correlationId:string persistent:bool expiration:long
  priority:byte replyTo:obj timestamp:long jmsType:string content:seq marshalledProperties:seq dataStructure:obj
  targetConsumerId:obj compressed:bool redeliveryCounter:int brokerPath:arr arrival:long userId:string
  receivedByDfBridge:bool droppable:bool cluster:arr brokerInTime:long brokerOutTime:long jmsxGroupFirstForConsumer:bool:10`);

const cmd = (name: string, spec: string): StructSpec => ({ name, command: true, fields: f(spec) });
const data = (name: string, spec: string): StructSpec => ({ name, command: false, fields: f(spec) });
const message = (name: string, extra = ''): StructSpec => ({ name, command: true, fields: [...MESSAGE_FIELDS, ...f(extra)] });

export const SCHEMA: Record<number, StructSpec> = {
  [T.WireFormatInfo]: data('WireFormatInfo', 'magic:magic version:int marshalledProperties:seq'),
  [T.BrokerInfo]: cmd(
    'BrokerInfo',
    `brokerId:obj brokerUrl:string peerBrokerInfos:arr brokerName:string slaveBroker:bool masterBroker:bool
     faultTolerantConfiguration:bool duplexConnection:bool networkConnection:bool connectionId:long
     brokerUploadUrl:string networkProperties:string`,
  ),
  [T.ConnectionInfo]: cmd(
    'ConnectionInfo',
    `connectionId:obj clientId:string password:string userName:string brokerPath:arr brokerMasterConnector:bool
     manageable:bool clientMaster:bool faultTolerant:bool failoverReconnect:bool clientIp:string`,
  ),
  [T.SessionInfo]: cmd('SessionInfo', 'sessionId:obj'),
  [T.ConsumerInfo]: cmd(
    'ConsumerInfo',
    `consumerId:obj browser:bool destination:obj prefetchSize:int maximumPendingMessageLimit:int dispatchAsync:bool
     selector:string clientId:string:10 subscriptionName:string noLocal:bool exclusive:bool retroactive:bool priority:byte
     brokerPath:arr additionalPredicate:obj networkSubscription:bool optimizedAcknowledge:bool noRangeAcks:bool
     networkConsumerPath:arr`,
  ),
  [T.ProducerInfo]: cmd('ProducerInfo', 'producerId:obj destination:obj brokerPath:arr dispatchAsync:bool windowSize:int'),
  [T.TransactionInfo]: cmd('TransactionInfo', 'connectionId:obj transactionId:obj txType:byte'),
  [T.DestinationInfo]: cmd('DestinationInfo', 'connectionId:obj destination:obj operationType:byte timeout:long brokerPath:arr'),
  [T.RemoveSubscriptionInfo]: cmd('RemoveSubscriptionInfo', 'connectionId:obj subscriptionName:string clientId:string'),
  [T.KeepAliveInfo]: cmd('KeepAliveInfo', ''),
  [T.ShutdownInfo]: cmd('ShutdownInfo', ''),
  [T.RemoveInfo]: cmd('RemoveInfo', 'objectId:obj lastDeliveredSequenceId:long'),
  [T.ControlCommand]: cmd('ControlCommand', 'command:string'),
  [T.FlushCommand]: cmd('FlushCommand', ''),
  [T.ConnectionError]: cmd('ConnectionError', 'exception:exc connectionId:obj'),
  [T.ConsumerControl]: cmd('ConsumerControl', 'destination:obj close:bool consumerId:obj prefetch:int flush:bool start:bool stop:bool'),
  [T.ConnectionControl]: cmd(
    'ConnectionControl',
    'close:bool exit:bool faultTolerant:bool resume:bool suspend:bool connectedBrokers:string reconnectTo:string rebalanceConnection:bool token:seq',
  ),
  [T.ProducerAck]: cmd('ProducerAck', 'producerId:obj size:int'),
  [T.MessagePull]: cmd('MessagePull', 'consumerId:obj destination:obj timeout:long correlationId:string messageId:obj'),
  [T.MessageDispatch]: cmd('MessageDispatch', 'consumerId:obj destination:obj message:obj redeliveryCounter:int'),
  [T.MessageAck]: cmd(
    'MessageAck',
    'destination:obj transactionId:obj consumerId:obj ackType:byte firstMessageId:obj lastMessageId:obj messageCount:int poisonCause:exc',
  ),
  [T.Message]: message('ActiveMQMessage'),
  [T.BytesMessage]: message('ActiveMQBytesMessage'),
  [T.MapMessage]: message('ActiveMQMapMessage'),
  [T.ObjectMessage]: message('ActiveMQObjectMessage'),
  [T.StreamMessage]: message('ActiveMQStreamMessage'),
  [T.TextMessage]: message('ActiveMQTextMessage'),
  [T.BlobMessage]: message('ActiveMQBlobMessage', 'remoteBlobUrl:string mimeType:string deletedByBroker:bool'),
  [T.Response]: cmd('Response', 'correlationId:int'),
  [T.ExceptionResponse]: cmd('ExceptionResponse', 'correlationId:int exception:exc'),
  [T.DataResponse]: cmd('DataResponse', 'correlationId:int data:obj'),
  [T.DataArrayResponse]: cmd('DataArrayResponse', 'correlationId:int data:arr'),
  [T.IntegerResponse]: cmd('IntegerResponse', 'correlationId:int result:int'),
  [T.SubscriptionInfo]: data(
    'SubscriptionInfo',
    'clientId:string destination:obj selector:string subscriptionName:string subscribedDestination:obj noLocal:bool:11',
  ),
  [T.ReplayCommand]: cmd('ReplayCommand', 'firstNakNumber:int lastNakNumber:int'),
  [T.MessageDispatchNotification]: cmd('MessageDispatchNotification', 'consumerId:obj destination:obj deliverySequenceId:long messageId:obj'),
  [T.BrokerSubscriptionInfo]: cmd('BrokerSubscriptionInfo', 'brokerId:obj brokerName:string subscriptionInfos:arr'),
  [T.Queue]: data('ActiveMQQueue', 'physicalName:string'),
  [T.Topic]: data('ActiveMQTopic', 'physicalName:string'),
  [T.TempQueue]: data('ActiveMQTempQueue', 'physicalName:string'),
  [T.TempTopic]: data('ActiveMQTempTopic', 'physicalName:string'),
  [T.MessageId]: data('MessageId', 'textView:string:10 producerId:obj producerSequenceId:long brokerSequenceId:long'),
  [T.LocalTransactionId]: data('LocalTransactionId', 'value:long connectionId:obj'),
  [T.XATransactionId]: data('XATransactionId', 'formatId:int globalTransactionId:seq branchQualifier:seq'),
  [T.ConnectionId]: data('ConnectionId', 'value:string'),
  [T.SessionId]: data('SessionId', 'connectionId:string value:long'),
  [T.ConsumerId]: data('ConsumerId', 'connectionId:string sessionId:long value:long'),
  [T.ProducerId]: data('ProducerId', 'connectionId:string value:long sessionId:long'),
  [T.BrokerId]: data('BrokerId', 'value:string'),
};
