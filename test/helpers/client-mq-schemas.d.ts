// @aws-sdk/client-mq's service model (operations and structures as schema arrays), read by service-model.test.ts
declare module '@aws-sdk/client-mq/dist-es/schemas/schemas_0.js';
