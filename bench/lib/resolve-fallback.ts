/**
 * Preloaded (`node --import <this file>?root=<checkout>`) into a baseline gateway whose checkout has
 * no node_modules: a package that does not resolve from the baseline's own files is resolved again
 * as if imported from `<checkout>` (the current checkout), i.e. from its node_modules — what
 * NODE_PATH does for CommonJS, which ES modules ignore. Only bare specifiers fall back; relative
 * imports and everything that resolves normally are untouched. It must never write into either
 * checkout, nor change how a module that resolves on its own is found.
 */
import { registerHooks } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const root = new URL(import.meta.url).searchParams.get('root');
if (!root) throw new Error('resolve-fallback: missing ?root=<checkout> in the --import URL');
const fallbackParent = pathToFileURL(path.join(root, 'package.json')).href;

/** `koa`, `@scope/pkg/sub` — not `./x`, `/abs`, `file:…`, `node:…` or `#imports`. */
function isBare(specifier: string): boolean {
  return !/^(?:\.{1,2}\/|\/|#|[a-zA-Z][a-zA-Z\d+.-]*:)/.test(specifier) && specifier !== '.' && specifier !== '..';
}

registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (!isBare(specifier) || (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND')) throw err;
      return nextResolve(specifier, { ...context, parentURL: fallbackParent });
    }
  },
});
