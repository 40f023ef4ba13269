// Secrets come from files (or systemd's $CREDENTIALS_DIRECTORY), never from
// the config file itself or the command line, and never print.
import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve, dirname } from 'node:path';
import { inspect } from 'node:util';

export class Secret {
  readonly #value: string;
  constructor(value: string, readonly source: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '[secret]';
  }
  toJSON(): string {
    return `[secret from ${this.source}]`;
  }
  [inspect.custom](): string {
    return this.toJSON();
  }
}

export interface SecretLookup {
  /** Directory of the config file, for relative paths. */
  baseDir?: string;
  /** systemd's LoadCredential= directory. */
  credentialsDir?: string;
}

/**
 * Where a secret reference points: "credential:NAME" reads
 * $CREDENTIALS_DIRECTORY/NAME; any other value is a file path (relative to
 * the config file). A bare name with no such file falls back to the
 * credentials dir too, so `LoadCredential=kafka-password:...` just works.
 */
function resolveSecretPath(ref: string, lookup: SecretLookup): string {
  const credential = /^credential:(.+)$/.exec(ref);
  if (credential) {
    if (!lookup.credentialsDir) throw new Error(`"${ref}" needs $CREDENTIALS_DIRECTORY (set by systemd LoadCredential=), which is not set`);
    return join(lookup.credentialsDir, credential[1]!);
  }
  if (isAbsolute(ref)) return ref;
  if (lookup.credentialsDir && !ref.includes('/')) return join(lookup.credentialsDir, ref);
  return resolve(lookup.baseDir ?? process.cwd(), ref);
}

export function readSecret(ref: string, lookup: SecretLookup): Secret {
  const path = resolveSecretPath(ref, lookup);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new Error(`cannot read secret file ${path} (${code}); create it with mode 0600 or point the key at the right file`);
  }
  return new Secret(secretFromText(text, path), path);
}

/**
 * The secret in a file's text: one final newline (what editors and `echo`
 * add) is removed; any other whitespace or line break at either end, or a
 * control character anywhere, is refused rather than guessed at, because a
 * password with a stray newline fails authentication with no hint.
 */
export function secretFromText(text: string, path: string): string {
  const value = text.replace(/\r?\n$/, '');
  if (value.length === 0) throw new Error(`secret file ${path} is empty`);
  if (/^\s|\s$/.test(value)) {
    throw new Error(`secret file ${path} has whitespace or an extra line break at its start or end (after removing one final newline); secrets may not: write it with printf '%s' "$SECRET" > FILE`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new Error(`secret file ${path} holds a control character or line break inside the secret; it must be one line`);
  return value;
}

export function dirOf(file: string | undefined): string | undefined {
  return file ? dirname(resolve(file)) : undefined;
}
