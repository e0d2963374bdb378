/**
 * The `plugboard` command line: the table of commands and their options, the help texts drawn
 * from it (whole, per group as in `plugboard help key` / `plugboard key --help`, per command), and
 * argument parsing into one command with its option values. Errors are UsageErrors that carry
 * a short message and one hint line; the whole usage is printed only when help is asked for.
 * Knows nothing of the database or the server: main.ts runs what this module parsed.
 */
import { parseArgs } from 'node:util';

type OptionType = 'string' | 'boolean';

export interface CommandSpec {
  /** `org create`, `serve`, … */
  readonly name: string;
  /** Arguments as shown in help, e.g. `--name NAME [--owner-name N]`. */
  readonly args: string;
  readonly summary: string;
  readonly options: Readonly<Record<string, OptionType>>;
  /** The one positional argument the command takes (e.g. `plugin validate <file|url>`), by name. */
  readonly positional?: string;
}

const json = { json: 'boolean' } as const;

export const COMMANDS: readonly CommandSpec[] = [
  { name: 'serve', args: '', summary: 'run the gateway, control-panel API and workers (creates the data directory on first start)', options: {} },
  { name: 'migrate', args: '[--json]', summary: 'apply pending database migrations and exit (creates the database if missing)', options: json },
  { name: 'doctor', args: '[--json]', summary: 'check data dir, database, master key and upstream', options: json },
  { name: 'tui', args: '[--token-file F | --token T] [--url URL] [--org ID]', summary: 'operator terminal UI attached to a running server (or PLUGBOARD_TUI_TOKEN / PLUGBOARD_TUI_TOKEN_FILE)', options: { token: 'string', 'token-file': 'string', url: 'string', org: 'string' } },
  { name: 'org create', args: '--name NAME [--owner-name N] [--json]', summary: 'create an organisation and its owner (prints the owner token once)', options: { ...json, name: 'string', 'owner-name': 'string' } },
  { name: 'org list', args: '[--json]', summary: 'list organisations', options: json },
  { name: 'member add', args: '--org ID --name N --role owner|admin|member [--json]', summary: 'add a user and print their token once', options: { ...json, org: 'string', name: 'string', role: 'string' } },
  { name: 'token create', args: '--user USER_ID [--json]', summary: 'issue a new control-panel token for a user (access recovery)', options: { ...json, user: 'string' } },
  { name: 'key create', args: '--org ID [--name N] [--rpm N] [--json]', summary: 'create a gateway key (printed once); --rpm overrides the requests-per-minute limit', options: { ...json, org: 'string', name: 'string', rpm: 'string' } },
  { name: 'key list', args: '--org ID [--json]', summary: 'list gateway keys', options: { ...json, org: 'string' } },
  { name: 'key revoke', args: '--org ID --id KEY_ID [--json]', summary: 'revoke a gateway key', options: { ...json, org: 'string', id: 'string' } },
  { name: 'backup', args: '--to FILE [--force] [--json]', summary: 'online backup of the database to a new file (mode 0600); --force overwrites', options: { ...json, to: 'string', force: 'boolean' } },
  // Custom plugins (issue 11): manifest validation for authors, the operator's review queue and tokens.
  { name: 'plugin validate', args: '<file|url> [--json]', summary: 'check a plugin manifest offline and print every problem with its path (exit 1 on problems)', options: json, positional: 'file|url' },
  { name: 'plugin review list', args: '[--json]', summary: 'plugin versions waiting for the operator\'s review', options: json },
  { name: 'plugin review approve', args: '--id VERSION_ID [--note N] [--json]', summary: 'publish a submitted plugin version in the directory', options: { ...json, id: 'string', note: 'string' } },
  { name: 'plugin review reject', args: '--id VERSION_ID --reason R [--json]', summary: 'reject a submitted plugin version (the developer reads the reason)', options: { ...json, id: 'string', reason: 'string' } },
  { name: 'operator token create', args: '--name N [--json]', summary: 'create an operator token (pbo_…, printed once) for /operator routes and the TUI', options: { ...json, name: 'string' } },
  { name: 'operator token list', args: '[--json]', summary: 'list operator tokens', options: json },
  { name: 'operator token revoke', args: '--id TOKEN_ID [--json]', summary: 'revoke an operator token', options: { ...json, id: 'string' } },
];

/** Commands with subcommands (`org create`, `key list`, …). */
export const GROUPS = [...new Set(COMMANDS.filter((c) => c.name.includes(' ')).map((c) => c.name.split(' ')[0]))];

const GROUP_SUMMARY: Record<string, string> = {
  org: 'organisations', member: 'members of an organisation', token: 'control-panel tokens', key: 'gateway keys',
  plugin: 'custom plugins: manifest validation and the review queue', operator: 'the appliance operator\'s tokens',
};

/** A mistake on the command line: a short message and one hint line (exit 2). */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly hint: string;
  constructor(message: string, hint: string) {
    super(message);
    this.hint = hint;
  }
}

function lines(specs: readonly CommandSpec[]): string {
  const left = specs.map((c) => `  ${c.name}${c.args ? ' ' + c.args : ''}`);
  const width = Math.min(Math.max(...left.map((l) => l.length)) + 2, 46);
  return specs.map((c, i) => (left[i].length + 2 > width ? `${left[i]}\n${' '.repeat(width)}${c.summary}` : `${left[i].padEnd(width)}${c.summary}`)).join('\n');
}

/** The whole usage (`plugboard help`). */
export function usage(): string {
  return [
    'Usage: plugboard <command> [options]',
    '',
    lines(COMMANDS),
    '',
    'Every creating command accepts --json. Help on one command: plugboard help <command> (or plugboard <command> --help).',
    'Configuration: PLUGBOARD_* environment variables, PLUGBOARD_DATA_DIR for the data directory (default ./data); see README.',
    'plugboard --version prints the version.',
  ].join('\n');
}

/** Help of one group (`plugboard help key`) or one command (`plugboard help backup`); null when there is no such thing. */
export function helpFor(topic: string): string | null {
  const group = COMMANDS.filter((c) => c.name.split(' ')[0] === topic || c.name === topic || c.name.startsWith(`${topic} `));
  if (!group.length) return null;
  const title = GROUP_SUMMARY[topic] ? `plugboard ${topic}: ${GROUP_SUMMARY[topic]}` : `plugboard ${topic}`;
  return [title, '', 'Usage:', lines(group.map((c) => ({ ...c, name: `plugboard ${c.name}` }))), ''].join('\n');
}

export type Parsed =
  | { kind: 'help'; text: string; exitCode: 0 | 2; toStderr: boolean }
  | { kind: 'version' }
  | { kind: 'run'; command: string; values: Record<string, string | boolean | undefined>; positionals: string[] };

const hintFor = (topic: string): string => `Run 'plugboard help ${topic}' for its usage.`;

/**
 * `--rpm -3` would be read as an option named `-3`: a value that starts with a dash is joined to
 * its option (`--rpm=-3`) when the option takes a value, so the command's own check explains it.
 */
function joinDashValues(args: string[], spec: CommandSpec): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const name = a.startsWith('--') && !a.includes('=') ? a.slice(2) : null;
    const next = args[i + 1];
    if (name && spec.options[name] === 'string' && next !== undefined && next.startsWith('-') && !(next.slice(2) in spec.options)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** Reads argv (without `node` and the script) into help, version or one command with its values. */
export function parseCommandLine(argv: readonly string[]): Parsed {
  const [first, second, ...rest] = argv;
  if (first === undefined) return { kind: 'help', text: usage(), exitCode: 2, toStderr: true };
  if (first === '--version' || first === '-V' || first === 'version') return { kind: 'version' };
  if (first === 'help' || first === '--help' || first === '-h') {
    const topic = [second, ...rest].filter((a) => a !== undefined && !a.startsWith('-')).join(' ');
    if (!topic) return { kind: 'help', text: usage(), exitCode: 0, toStderr: false };
    const text = helpFor(topic);
    if (!text) throw new UsageError(`no help on '${topic}': there is no such command.`, "Run 'plugboard help' for the list of commands.");
    return { kind: 'help', text, exitCode: 0, toStderr: false };
  }
  const isGroup = GROUPS.includes(first);
  if (isGroup && (second === undefined || second === '--help' || second === '-h' || second === 'help')) {
    const text = helpFor(first)!;
    if (second === undefined) return { kind: 'help', text: `plugboard ${first}: a subcommand is required.\n\n${text}`, exitCode: 2, toStderr: true };
    return { kind: 'help', text, exitCode: 0, toStderr: false };
  }
  // Three-word commands (`plugin review list`) first, then two-word ones.
  const three = isGroup && rest[0] !== undefined ? `${first} ${second} ${rest[0]}` : null;
  const deep = three !== null && COMMANDS.some((c) => c.name === three);
  const name = deep ? three! : isGroup ? `${first} ${second}` : first;
  const args = deep ? rest.slice(1) : isGroup ? rest : [second, ...rest].filter((a): a is string => a !== undefined);
  const spec = COMMANDS.find((c) => c.name === name);
  if (!spec) {
    const subgroup = COMMANDS.filter((c) => c.name.startsWith(`${name} `));
    if (isGroup && subgroup.length > 0) {
      const text = [`plugboard ${name}: a subcommand is required.`, '', 'Usage:', lines(subgroup.map((c) => ({ ...c, name: `plugboard ${c.name}` }))), ''].join('\n');
      return { kind: 'help', text, exitCode: 2, toStderr: true };
    }
    throw new UsageError(`unknown command '${name}'.`, isGroup ? hintFor(first) : "Run 'plugboard help' for the list of commands.");
  }
  if (args.includes('--help') || args.includes('-h')) return { kind: 'help', text: helpFor(name)!, exitCode: 0, toStderr: false };
  const options: Record<string, { type: OptionType }> = {};
  for (const [k, type] of Object.entries(spec.options)) options[k] = { type };
  try {
    const { values, positionals } = parseArgs({ args: joinDashValues(args, spec), options, strict: true, allowPositionals: spec.positional !== undefined });
    if (spec.positional !== undefined && positionals.length !== 1) {
      throw new UsageError(`${name}: ${positionals.length === 0 ? `<${spec.positional}> is required` : `takes one <${spec.positional}>, not ${positionals.length}`}.`, hintFor(name));
    }
    return { kind: 'run', command: name, values: values as Record<string, string | boolean | undefined>, positionals };
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const raw = (err as Error).message;
    const unknown = /Unknown option '([^']+)'/.exec(raw)?.[1];
    const positional = /Unexpected argument '([^']+)'/.exec(raw)?.[1];
    const missing = /Option '(--[\w-]+)[^']*' argument missing/.exec(raw)?.[1];
    const message = unknown ? `unknown option '${unknown}'.`
      : positional ? `unexpected argument '${positional}' (options are written --name VALUE).`
      : missing ? `${missing} needs a value.`
      : raw.split('\n')[0];
    throw new UsageError(`${name}: ${message}`, hintFor(name));
  }
}

/** A required string option, trimmed; a UsageError naming it when missing or empty. */
export function need(command: string, values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v.trim() === '') throw new UsageError(`${command}: --${name} is required.`, hintFor(command));
  return v.trim();
}
