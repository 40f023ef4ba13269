// One way to read config for every frameline program: convict with strict
// validation (unknown keys are errors), JSON-with-comments files, env vars,
// and secrets resolved from files after validation.
import { readFileSync } from 'node:fs';
import convict from 'convict';
import JSON5 from 'json5';
import { parseBootstrap, parseByteSize, parseDuration } from './units.js';
import { Secret, dirOf, readSecret } from './secret.js';

/** sysexits.h EX_CONFIG: systemd's RestartPreventExitStatus=78 stops a crash loop on bad config. */
export const EXIT_CONFIG = 78;

export interface ConfigIssue {
  key: string;
  message: string;
}

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly issues: ConfigIssue[],
  ) {
    super(`invalid configuration in ${source}:\n${issues.map((i) => `  ${i.key}: ${i.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

let formatsRegistered = false;

/** Registers frameline's custom convict formats (idempotent). */
function registerFormats(): void {
  if (formatsRegistered) return;
  formatsRegistered = true;
  const lenient = (parse: (v: unknown) => unknown) => (v: unknown) => {
    try {
      return parse(v);
    } catch {
      return v; // left for validate(), which names the key
    }
  };
  convict.addFormat({ name: 'duration', validate: (v) => void parseDuration(v), coerce: lenient(parseDuration) });
  convict.addFormat({ name: 'byte-size', validate: (v) => void parseByteSize(v), coerce: lenient(parseByteSize) });
  convict.addFormat({ name: 'bootstrap-list', validate: (v) => void parseBootstrap(v), coerce: lenient(parseBootstrap) });
  convict.addFormat({
    name: 'secret-file',
    validate: (v) => {
      if (v !== null && v !== '' && typeof v !== 'string' && !(v instanceof Secret)) {
        throw new Error('must be the path of a file holding the secret, or "credential:NAME"');
      }
    },
  });
  convict.addFormat({
    name: 'positive-number',
    validate: (v) => {
      if (typeof v !== 'number' || !(v > 0)) throw new Error('must be a number greater than 0');
    },
    coerce: (v) => Number(v),
  });
}

export interface LoadOptions {
  /** Config file (JSON with comments); optional. */
  file?: string;
  /** Defaults to process.env; tests pass their own. */
  env?: NodeJS.ProcessEnv;
  /** Overrides applied after the file and env (e.g. from CLI flags). */
  overrides?: Record<string, unknown>;
}

export type SchemaNode = { format?: unknown; default?: unknown; [key: string]: unknown };

/** Every leaf of a convict schema (an object with `default` or `format`), with its dotted key. */
export function schemaLeaves(schema: object, prefix = ''): { key: string; node: SchemaNode }[] {
  const out: { key: string; node: SchemaNode }[] = [];
  for (const [k, node] of Object.entries(schema)) {
    if (!node || typeof node !== 'object') continue;
    const n = node as SchemaNode;
    if ('default' in n || 'format' in n) out.push({ key: prefix + k, node: n });
    else out.push(...schemaLeaves(n, `${prefix}${k}.`));
  }
  return out;
}

function secretKeys(schema: object): string[] {
  return schemaLeaves(schema).filter((l) => l.node.format === 'secret-file').map((l) => l.key);
}

function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ key: '(file)', message: `cannot read the config file (${(err as NodeJS.ErrnoException).code ?? err})` }]);
  }
  try {
    return JSON5.parse(text);
  } catch (err) {
    throw new ConfigError(file, [{ key: '(syntax)', message: (err as Error).message.replace(/^JSON5: /, '') }]);
  }
}

function parseIssues(text: string): ConfigIssue[] {
  return text.split('\n').filter(Boolean).map((line) => {
    const undeclared = /^configuration param '([^']+)' not declared in the schema/.exec(line);
    if (undeclared) return { key: undeclared[1]!, message: 'unknown key (not in the schema; check its spelling)' };
    const idx = line.indexOf(': ');
    return idx > 0 ? { key: line.slice(0, idx), message: line.slice(idx + 2) } : { key: '(config)', message: line };
  });
}

function schemaNode(schema: Record<string, unknown>, key: string): SchemaNode | undefined {
  let node: unknown = schema;
  for (const part of key.split('.')) node = (node as Record<string, unknown> | undefined)?.[part];
  return node as SchemaNode | undefined;
}

/** convict leaves out falsy values (0, false, ""); the operator needs to see them too. */
function withValues<T>(issues: ConfigIssue[], conf: convict.Config<T> | undefined, schema: Record<string, unknown>): ConfigIssue[] {
  // A hostile or pasted value (3000 characters, say) must not flood the terminal or the journal.
  const clip = (m: string) => (m.length > 600 ? `${m.slice(0, 600)}…` : m);
  return issues.map((issue) => ({ ...issue, message: clip(withValue(issue).message) }));
  function withValue(issue: ConfigIssue): ConfigIssue {
    if (!conf || /value was /.test(issue.message) || issue.message.startsWith('unknown key')) return issue;
    const node = schemaNode(schema, issue.key);
    if (!node || node.sensitive === true) return issue;
    let value: unknown;
    try {
      value = conf.get(issue.key as never);
    } catch {
      return issue;
    }
    const shown = JSON.stringify(value) ?? String(value);
    return { ...issue, message: `${issue.message}: value was ${shown.length > 200 ? `${shown.slice(0, 200)}…` : shown}` };
  }
}

/**
 * Loads, validates and returns a typed config. Throws ConfigError naming the
 * file, each bad key and its value (never the value of a sensitive key).
 */
export function loadConfig<T>(schema: convict.Schema<T>, options: LoadOptions = {}): T {
  registerFormats();
  const env = options.env ?? process.env;
  const source = options.file ?? 'environment and defaults';
  let conf: convict.Config<T> | undefined;
  try {
    conf = convict(schema, { env, args: [] });
    if (options.file) conf.load(readConfigFile(options.file) as object);
    if (options.overrides) conf.load(options.overrides as object);
    conf.validate({ allowed: 'strict' });
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(source, withValues(parseIssues((err as Error).message), conf!, schema as Record<string, unknown>));
  }
  // Secrets are read after validation, into the returned copy: convict's
  // getProperties() deep-clones, which would strip a Secret's hidden value.
  const props = conf!.getProperties() as T;
  const lookup = { baseDir: dirOf(options.file), credentialsDir: env.CREDENTIALS_DIRECTORY };
  const issues: ConfigIssue[] = [];
  for (const key of secretKeys(schema as Record<string, unknown>)) {
    const path = key.split('.');
    const parent = path.slice(0, -1).reduce<Record<string, unknown>>((o, k) => o[k] as Record<string, unknown>, props as Record<string, unknown>);
    const leaf = path[path.length - 1]!;
    const ref = parent[leaf];
    if (typeof ref !== 'string' || ref === '') {
      parent[leaf] = null;
      continue;
    }
    try {
      parent[leaf] = readSecret(ref, lookup);
    } catch (err) {
      issues.push({ key, message: (err as Error).message });
    }
  }
  if (issues.length > 0) throw new ConfigError(source, issues);
  return props;
}

/** For `check-config`: the effective config as JSON with secrets shown as their source. */
export function describeConfig(config: unknown): string {
  return JSON.stringify(config, null, 2);
}

/** Prints a ConfigError for the operator and exits 78; rethrows anything else. */
export function exitOnConfigError(err: unknown, write: (line: string) => void = (l) => process.stderr.write(l + '\n')): never {
  if (err instanceof ConfigError) {
    write(err.message);
    process.exit(EXIT_CONFIG);
  }
  throw err;
}
