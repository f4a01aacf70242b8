/** OpenWire data structure type codes (ActiveMQ's CommandTypes) */
export const T = {
  WireFormatInfo: 1,
  BrokerInfo: 2,
  ConnectionInfo: 3,
  SessionInfo: 4,
  ConsumerInfo: 5,
  ProducerInfo: 6,
  TransactionInfo: 7,
  DestinationInfo: 8,
  RemoveSubscriptionInfo: 9,
  KeepAliveInfo: 10,
  ShutdownInfo: 11,
  RemoveInfo: 12,
  ControlCommand: 14,
  FlushCommand: 15,
  ConnectionError: 16,
  ConsumerControl: 17,
  ConnectionControl: 18,
  ProducerAck: 19,
  MessagePull: 20,
  MessageDispatch: 21,
  MessageAck: 22,
  Message: 23,
  BytesMessage: 24,
  MapMessage: 25,
  ObjectMessage: 26,
  StreamMessage: 27,
  TextMessage: 28,
  BlobMessage: 29,
  Response: 30,
  ExceptionResponse: 31,
  DataResponse: 32,
  DataArrayResponse: 33,
  IntegerResponse: 34,
  SubscriptionInfo: 55,
  ReplayCommand: 65,
  MessageDispatchNotification: 90,
  BrokerSubscriptionInfo: 92,
  Queue: 100,
  Topic: 101,
  TempQueue: 102,
  TempTopic: 103,
  MessageId: 110,
  LocalTransactionId: 111,
  XATransactionId: 112,
  ConnectionId: 120,
  SessionId: 121,
  ConsumerId: 122,
  ProducerId: 123,
  BrokerId: 124,
} as const;

export function isMessageType(type: number): boolean {
  return type >= T.Message && type <= T.BlobMessage;
}

export function isDestinationType(type: number): boolean {
  return type >= T.Queue && type <= T.TempTopic;
}

/** MessageAck.ackType */
export const AckType = {
  Delivered: 0,
  Poison: 1,
  Standard: 2,
  Redelivered: 3,
  Individual: 4,
  Unmatched: 5,
  Expired: 6,
} as const;

/** TransactionInfo.type */
export const TxType = {
  Begin: 0,
  Prepare: 1,
  CommitOnePhase: 2,
  CommitTwoPhase: 3,
  Rollback: 4,
  Recover: 5,
  Forget: 6,
  End: 7,
} as const;

/** DestinationInfo.operationType */
export const DestOp = { Add: 0, Remove: 1 } as const;
