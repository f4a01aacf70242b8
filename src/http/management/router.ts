import type { Route } from './http-util.js';

/** a route with its path pattern split once, at start */
export interface CompiledRoute {
  route: Route;
  segments: string[];
}

export function compileRoutes(routes: Route[]): CompiledRoute[] {
  return routes.map((route) => ({ route, segments: route.path.split('/') }));
}

/**
 * Split a request path (still URL-encoded, as `URL.pathname` leaves it) into decoded
 * segments. Splitting before decoding is what lets `%2F` stand for the vhost `/`.
 * Null when a segment is not valid percent-encoding. A trailing slash is ignored.
 */
export function pathSegments(rawPath: string): string[] | null {
  const trimmed = rawPath.length > 1 && rawPath.endsWith('/') ? rawPath.slice(0, -1) : rawPath;
  try {
    return trimmed.split('/').map(decodeURIComponent);
  } catch {
    return null;
  }
}

/** the `:name` parameters when the route's pattern fits the path, else null */
export function matchSegments(pattern: string[], path: string[]): Record<string, string> | null {
  if (pattern.length !== path.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    if (p.startsWith(':')) params[p.slice(1)] = path[i]!;
    else if (p !== path[i]) return null;
  }
  return params;
}
