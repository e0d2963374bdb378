/**
 * What the business panes (catalogue, orders, payments, inbox, reminders) share: their clients and
 * the caller's role per organisation (one GET /me, cached), an action bar that greys out what the
 * role or the selected item's state does not allow, and `guarded`, which refuses such an action
 * locally with the reason instead of sending a request the server would refuse. Never formats
 * data (views/ do) and never builds the app layout.
 */
import blessed from 'blessed';
import type { Widgets } from 'blessed';
import type { Role } from '../../src/shared/api.ts';
import { createCommerceClient, type CommerceClient, type Requester } from '../client-biz.ts';
import { createInboxClient, type InboxClient } from '../client-inbox.ts';
import type { PaneContext } from '../pane.ts';
import { actionBar, type ActionHint } from '../views/commerce.ts';
import { describeError } from '../views/text.ts';
import { isAbortError } from '../tasks.ts';

export interface BizEnv {
  commerce: CommerceClient;
  inbox: InboxClient;
  /** The caller's id and role here; fetched once, retried after a failure. */
  whoami(signal: AbortSignal): Promise<{ userId: string | null; role: Role | null }>;
}

export function createBizEnv(api: Requester, orgId: string): BizEnv {
  const inbox = createInboxClient(api, orgId);
  let known: { userId: string | null; role: Role | null } | null = null;
  return {
    commerce: createCommerceClient(api, orgId),
    inbox,
    async whoami(signal) {
      if (!known) known = await inbox.whoami(signal);
      return known;
    },
  };
}

/** One BizEnv per organisation for a set of panes built from the same ApiClient. */
export function bizEnvs(api: Requester): (ctx: PaneContext) => BizEnv {
  const byOrg = new Map<string, BizEnv>();
  return (ctx) => {
    let env = byOrg.get(ctx.api.orgId);
    if (!env) byOrg.set(ctx.api.orgId, (env = createBizEnv(api, ctx.api.orgId)));
    return env;
  };
}

export interface ActionBarWidget {
  el: Widgets.BoxElement;
  set(hints: ActionHint[]): void;
  /** Runs `fn` when the hint with `key` is enabled; otherwise says why not on the status line. */
  guarded(key: string, fn: () => unknown): () => void;
}

/** A one-line bar of the pane's actions at `top` of `parent` (enabled plain, others grey). */
export function createActionBar(ctx: PaneContext, parent: Widgets.Node, top = 0): ActionBarWidget {
  const el = blessed.box({ parent, top, left: 1, right: 1, height: 1, tags: true });
  let hints: ActionHint[] = [];
  return {
    el,
    set(next) {
      hints = next;
      el.setContent(actionBar(next));
    },
    guarded: (key, fn) => () => {
      const h = hints.find((x) => x.key === key);
      if (h && !h.enabled) {
        ctx.notify(`${h.label}: ${h.why ?? 'not possible now'}.`);
        return;
      }
      void fn();
    },
  };
}

/** Loads the caller's role for `env`; failures are reported once and read as "member" (everything greyed). */
export async function loadRole(ctx: PaneContext, env: BizEnv): Promise<{ userId: string | null; role: Role | null }> {
  const scope = ctx.scope.child('whoami');
  try {
    return await env.whoami(scope.signal);
  } catch (err) {
    if (!isAbortError(err) && !scope.cancelled) ctx.notify(`Reading your role failed: ${describeError(err)}`);
    return { userId: null, role: null };
  } finally {
    scope.cancel('done');
  }
}
