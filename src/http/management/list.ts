import type http from 'node:http';
import { sendError, sendJson } from './http-util.js';

const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 500;
const MAX_FILTER_LENGTH = 1024;

type Item = Record<string, unknown>;

/**
 * Answer a list endpoint as rabbit_mgmt_util:reply_list_or_paginate does: sorted by
 * `sort` then the defaults (`sort_reverse` flips it), filtered by `name` (substring, or a
 * case-insensitive regex with `use_regex=true`), paged by `page`/`page_size` into
 * RabbitMQ's envelope, and cut down to `columns=` (dotted paths).
 */
export function sendList(res: http.ServerResponse, query: URLSearchParams, items: Item[], defaultSort: string[] = ['vhost', 'name']): void {
  const sortParam = query.get('sort');
  const sorts = sortParam === null || sortParam === '' ? defaultSort : [sortParam, ...defaultSort.filter((s) => s !== sortParam)];
  let sorted = sortParam === '' ? items : [...items].sort((a, b) => compareBy(a, b, sorts));
  if (query.get('sort_reverse') === 'true') sorted = sorted.reverse();
  const columns = query.get('columns');
  const shape = (list: Item[]) => (columns ? list.map((i) => pickColumns(i, columns.split(','))) : list);

  const pageRaw = query.get('page');
  if (pageRaw === null) return sendJson(res, 200, shape(sorted));
  const sizeRaw = query.get('page_size');
  const page = Number(pageRaw);
  const size = sizeRaw === null ? DEFAULT_PAGE_SIZE : Number(sizeRaw);
  if (!Number.isInteger(page) || !Number.isInteger(size) || page <= 0 || size <= 0 || size > MAX_PAGE_SIZE) {
    return sendError(res, 400, 'invalid_pagination_parameters', `Invalid pagination parameters: page number ${pageRaw}, page size ${sizeRaw ?? 'undefined'}`);
  }
  const name = query.get('name');
  const useRegex = query.get('use_regex') === 'true';
  if (name !== null && useRegex && name.length > MAX_FILTER_LENGTH) return sendError(res, 400, 'invalid_pagination_parameters', 'name filter regex is too long');
  let filtered = sorted;
  if (name) {
    let test: (s: string) => boolean;
    if (useRegex) {
      let re: RegExp | undefined;
      try {
        re = new RegExp(name, 'i');
      } catch {
        re = undefined;
      }
      test = (s) => re !== undefined && re.test(s);
    } else {
      const needle = name.toLowerCase();
      test = (s) => s.toLowerCase().includes(needle);
    }
    filtered = sorted.filter((i) => typeof i['name'] === 'string' && test(i['name']));
  }
  const offset = (page - 1) * size;
  if (offset > filtered.length) {
    return sendError(res, 400, 'page_out_of_range', `Page out of range, page: ${page} page size: ${size}, len: ${filtered.length}`);
  }
  const pageItems = filtered.slice(offset, offset + size);
  sendJson(res, 200, {
    total_count: sorted.length,
    item_count: pageItems.length,
    filtered_count: filtered.length,
    page,
    page_size: size,
    page_count: Math.ceil(filtered.length / size),
    items: shape(pageItems),
  });
}

/** `columns=name,message_stats.publish` keeps those paths only (a single object too: GET /api/queues/v/q?columns=…) */
export function pickColumns(item: Item, columns: string[]): Item {
  const out: Item = {};
  for (const col of columns) {
    const path = col.trim().split('.');
    let src: unknown = item;
    for (const p of path) src = src && typeof src === 'object' ? (src as Item)[p] : undefined;
    if (src === undefined) continue;
    let dst = out;
    for (const p of path.slice(0, -1)) dst = (dst[p] ??= {}) as Item;
    dst[path[path.length - 1]!] = src;
  }
  return out;
}

function valueAt(item: Item, dotted: string): unknown {
  let v: unknown = item;
  for (const p of dotted.split('.')) v = v && typeof v === 'object' ? (v as Item)[p] : undefined;
  return v ?? 0;
}

/** Erlang's term order, which RabbitMQ sorts by: numbers before strings; strings by code point */
function compareBy(a: Item, b: Item, sorts: string[]): number {
  for (const s of sorts) {
    const c = compareValues(valueAt(a, s), valueAt(b, s));
    if (c !== 0) return c;
  }
  return 0;
}

function compareValues(x: unknown, y: unknown): number {
  const rank = (v: unknown) => (typeof v === 'number' ? 0 : typeof v === 'boolean' ? 1 : typeof v === 'string' ? 3 : 2);
  const rx = rank(x);
  const ry = rank(y);
  if (rx !== ry) return rx - ry;
  if (typeof x === 'number' && typeof y === 'number') return x - y;
  const sx = typeof x === 'string' ? x : JSON.stringify(x);
  const sy = typeof y === 'string' ? y : JSON.stringify(y);
  return sx < sy ? -1 : sx > sy ? 1 : 0;
}
