/**
 * Amazon MQ's API errors as the service sends them: the HTTP status, the error type in the
 * `x-amzn-ErrorType` header, and a JSON body `{"errorAttribute": ..., "message": ...}`,
 * which @aws-sdk/client-mq turns into `NotFoundException` etc. with `ErrorAttribute` and
 * `Message` (botocore and the AWS CLI read the same header and body).
 */
export type MqErrorType =
  | 'BadRequestException'
  | 'UnauthorizedException'
  | 'ForbiddenException'
  | 'NotFoundException'
  | 'ConflictException'
  | 'InternalServerErrorException';

export const ERROR_STATUS: Record<MqErrorType, number> = {
  BadRequestException: 400,
  UnauthorizedException: 401,
  ForbiddenException: 403,
  NotFoundException: 404,
  ConflictException: 409,
  InternalServerErrorException: 500,
};

export class MqApiError extends Error {
  constructor(
    readonly type: MqErrorType,
    readonly attribute: string | undefined,
    message: string,
  ) {
    super(message);
  }

  get status(): number {
    return ERROR_STATUS[this.type];
  }

  body(): { errorAttribute?: string; message: string } {
    return this.attribute === undefined ? { message: this.message } : { errorAttribute: this.attribute, message: this.message };
  }
}

export const badRequest = (attribute: string, message: string) => new MqApiError('BadRequestException', attribute, message);

export const brokerNotFound = (id: string) =>
  new MqApiError('NotFoundException', 'broker-id', `Can't find requested broker [${id}]. Make sure your broker exists.`);

export const configurationNotFound = (id: string) =>
  new MqApiError('NotFoundException', 'configuration_id', `Can't find requested configuration [${id}]. Make sure your configuration exists.`);

export const userNotFound = (username: string) =>
  new MqApiError('NotFoundException', 'username', `Can't find requested user [${username}]. Make sure your user exists.`);

export const missing = (attribute: string) => badRequest(attribute, `The request failed because it is missing the required parameter [${attribute}].`);
