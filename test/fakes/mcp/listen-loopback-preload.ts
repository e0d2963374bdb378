/**
 * Preload (`node --import`) for child-process test servers that bind every interface and have no
 * host option: every TCP `listen()` is forced onto 127.0.0.1, and the first bound port is reported
 * on stderr as `PLUGBOARD_TEST_LISTENING <port>` so a parent can start them with PORT=0.
 * It must never change pipe/handle listens or print anything else.
 */
import net from 'node:net';

const LOOPBACK = '127.0.0.1';
const original = net.Server.prototype.listen;
let reported = false;

function report(this: net.Server): void {
  const address = this.address();
  if (!reported && address && typeof address === 'object') {
    reported = true;
    process.stderr.write(`\nPLUGBOARD_TEST_LISTENING ${address.port}\n`);
  }
}

net.Server.prototype.listen = function patchedListen(this: net.Server, ...args: unknown[]): net.Server {
  const callback = typeof args[args.length - 1] === 'function' ? (args[args.length - 1] as () => void) : undefined;
  const first = args[0];
  let options: net.ListenOptions | undefined;
  if (first === undefined || typeof first === 'function' || typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    options = { port: typeof first === 'function' || first === undefined ? 0 : Number(first), host: LOOPBACK };
  } else if (first && typeof first === 'object' && !('path' in first) && !('fd' in first) && !('_handle' in first) && !('handle' in first)) {
    options = { ...(first as net.ListenOptions), host: LOOPBACK };
  }
  if (!options) return original.apply(this, args as Parameters<typeof original>);
  this.once('listening', report);
  return callback ? original.call(this, options, callback) : original.call(this, options);
} as typeof original;
