/**
 * Refuses malformed request parameters as the client's mistake (400 BAD_REQUEST), before yoga reads
 * them: `variables` or `extensions` that are not JSON in a query string or a urlencoded body (yoga
 * would parse them bare and fail as an internal error), and variables nested deeper than the
 * response cache hashes (a recursive key would overflow the stack).
 */
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import { jsonDepthExceeds, MAX_VARIABLES_DEPTH } from '../cache/response/index.js';

const badRequest = (message: string) =>
  createGraphQLError(message, { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } });

function notJson(text: string): boolean {
  try {
    JSON.parse(text);
    return false;
  } catch {
    return true;
  }
}

export function requestParamsPlugin(): Plugin {
  return {
    async onRequest({ request, endResponse, fetchAPI }) {
      let params: URLSearchParams | null = null;
      // As yoga reads them: everything after the first '?' (a fetch Request may keep a '#fragment').
      if (request.method === 'GET')
        params = new URLSearchParams(request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '');
      else if (/^application\/x-www-form-urlencoded/i.test(request.headers.get('content-type') ?? ''))
        params = new URLSearchParams(await request.clone().text());
      if (!params) return;
      for (const name of ['variables', 'extensions']) {
        const value = params.get(name);
        if (value && notJson(value)) {
          const error = { message: `${name} must be JSON`, extensions: { code: 'BAD_REQUEST' } };
          endResponse(
            new fetchAPI.Response(JSON.stringify({ errors: [error] }), {
              status: 400,
              headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
            }),
          );
          return;
        }
      }
    },
    onParams({ params }) {
      if (params.variables && jsonDepthExceeds(params.variables, MAX_VARIABLES_DEPTH))
        throw badRequest(`variables must not nest deeper than ${MAX_VARIABLES_DEPTH} levels`);
    },
  };
}
