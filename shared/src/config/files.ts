// Files a config points at that are not secrets but must exist at start:
// checked with the config (exit 78 naming the key), not when a client first
// dials the broker and throws from deep inside TLS setup.
import { readFileSync } from 'node:fs';

/** Why `path` is not a readable PEM CA bundle (undefined when it is). */
export function caFileProblem(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return `cannot read the CA file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'}): point it at the PEM bundle that signed the broker's certificate`;
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) return `${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`;
  return undefined;
}
