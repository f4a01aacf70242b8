import { DefinitionsError } from '../../server/definitions/format.js';
import { DefinitionsImportError, exportDefinitionsJson, importDefinitionsJson } from '../../server/definitions/apply.js';
import type { LocalMQ } from '../../server/local-mq.js';
import { sendError, sendJson, sendNoContent, type Route } from './http-util.js';

/** GET and POST /api/definitions: RabbitMQ's whole-broker export and import. */
export function definitionsRoutes(broker: LocalMQ): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/definitions',
      tag: 'administrator',
      handle: (_req, res) => sendJson(res, 200, exportDefinitionsJson(broker)),
    },
    {
      method: 'POST',
      path: '/api/definitions',
      tag: 'administrator',
      handle: (_req, res, body) => {
        try {
          importDefinitionsJson(broker, body);
        } catch (err) {
          if (err instanceof DefinitionsError || err instanceof DefinitionsImportError) {
            return sendError(res, 400, 'bad_request', err.message);
          }
          throw err;
        }
        sendNoContent(res);
      },
    },
  ];
}
