/**
 * The rest of a transaction's identity rewriting (R4 http.html#trules): besides references, every
 * element of type uri or url whose value is another entry's fullUrl, and the links of the
 * narrative (`a/@href`, `img/@src`) that name one, come to name that entry's `Type/id`. Element
 * types come from the R4 definitions, so a string that merely looks like a fullUrl (an
 * Identifier.value, say) is left as written.
 */
import { crawlTypedValue, toTypedValue } from '@medplum/core';
import type { JsonObject } from '../../ledger/index.js';
import { loadR4Definitions } from '../validation/definitions.js';

const URI_TYPES: ReadonlySet<string> = new Set(['uri', 'url']);

/** Rewrites, in place, the uri and url elements and narrative links of `resource` named in `idMap`. */
export function rewriteUris(resource: JsonObject, idMap: ReadonlyMap<string, string>): void {
  if (idMap.size === 0) return;
  loadR4Definitions();
  crawlTypedValue(toTypedValue(resource), {
    visitProperty: (parent, key, _path, values) => {
      const holder = parent.value as Record<string, unknown>;
      for (const [index, typed] of values.flat().entries()) {
        if (typeof typed.value !== 'string') continue;
        const rewritten =
          typed.type === 'xhtml'
            ? rewriteNarrative(typed.value, idMap)
            : URI_TYPES.has(typed.type)
              ? idMap.get(typed.value)
              : undefined;
        if (rewritten === undefined || rewritten === typed.value) continue;
        const current = holder[key];
        if (Array.isArray(current)) current[index] = rewritten;
        else holder[key] = rewritten;
      }
    },
  });
}

/** `div` with each `href="…"` and `src="…"` naming a fullUrl in `idMap` pointed at its `Type/id`. */
function rewriteNarrative(div: string, idMap: ReadonlyMap<string, string>): string {
  return div.replace(/\b(href|src)="([^"]*)"/g, (attribute, name: string, value: string) => {
    const target = idMap.get(value.replace(/&amp;/g, '&'));
    return target === undefined ? attribute : `${name}="${target}"`;
  });
}
