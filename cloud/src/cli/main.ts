// frameline-cloud run|check-config|infer: the composition root. Config is read
// and validated once here; everything below receives typed values. main()
// returns the exit status; only bin/frameline-cloud.js sets it.
import { parseArgs } from 'node:util';
import { ConfigError, EXIT_CONFIG, EXIT_NOPERM, createLogger, describeConfig } from '@frameline/shared';
import { loadCloudConfig, type CloudConfig } from '../config.js';
import { poseModelOptions } from '../inference/pool/model.js';
import type { ModelSpec } from '../inference/pool/protocol.js';
import { createCloudService } from '../service.js';
import { inferCommand } from './infer.js';

/** sysexits.h EX_USAGE. */
const EXIT_USAGE = 64;

export interface MainOptions {
  /** The model `run` gives its inference workers instead of the configured one (tests pass a slow one). */
  model?: ModelSpec;
}

const USAGE = `usage: frameline-cloud <command> [--config FILE]

commands:
  run            consume frames, infer poses, publish results (until SIGTERM/SIGINT)
  check-config   validate the config and print the effective values (secrets masked)
  infer          run the pose model on image files (see frameline-cloud infer --help)

Every key can also be set by an env var FRAMELINE_CLOUD_<SECTION>_<KEY>; see config/cloud.example.json.
Exit status 78: invalid configuration; 77: the broker's ACLs refused the
service (the log names what was refused and the ACL to add).`;

/** Throws shared's ConfigError (naming the key and the file); main() turns it into exit 78. */
function readConfig(file: string | undefined, overrides?: Record<string, unknown>): CloudConfig {
  return loadCloudConfig({ ...(file ? { file } : {}), ...(overrides ? { overrides } : {}) });
}

/** Runs until SIGTERM/SIGINT or an ACL refusal; resolves with 0 after a clean stop, 77 after a refusal, 1 when start or stop fails. */
async function run(file: string | undefined, options: MainOptions): Promise<number> {
  const config = readConfig(file);
  const logger = createLogger({ level: config.log.level, scope: 'cloud' });
  let stopFor!: (reason: 'SIGTERM' | 'SIGINT' | 'refused') => void;
  const stopReason = new Promise<'SIGTERM' | 'SIGINT' | 'refused'>((resolve) => (stopFor = resolve));
  // Retrying cannot fix an ACL refusal: stop, and let systemd show why (status 77, NOPERM).
  const service = createCloudService(config, {
    logger,
    ...(options.model ? { model: options.model } : {}),
    onRefused: (message) => {
      logger.error(`stopping: ${message}`);
      stopFor('refused');
    },
  });
  process.once('SIGTERM', () => stopFor('SIGTERM'));
  process.once('SIGINT', () => stopFor('SIGINT'));
  try {
    await service.start();
  } catch (err) {
    logger.error('cannot start', { error: err as Error });
    await service.stop().catch(() => {});
    return service.refusal() ? EXIT_NOPERM : 1;
  }
  const reason = await stopReason;
  if (reason !== 'refused') logger.info('signal received; stopping', { signal: reason });
  try {
    await service.stop();
    return reason === 'refused' ? EXIT_NOPERM : 0;
  } catch (err) {
    logger.error('stop failed', { error: err as Error });
    return reason === 'refused' ? EXIT_NOPERM : 1;
  }
}

const INFER_USAGE = `usage: frameline-cloud infer [--config FILE] [--out DIR] IMAGE...

Runs the configured pose model (model.* in the config; the default without one)
on JPEG or PNG files and prints one video.inferences record (JSON) per image.
--out DIR also writes DIR/<name>.pose.jpg with the skeletons drawn.
An image that cannot be read or decoded (or has more than ingest.maxFramePixels
pixels) gets one line "PATH: CODE: reason" on stderr; the others are still
inferred, and the exit status is then 65.`;

async function infer(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, strict: true, options: { config: { type: 'string', short: 'c' }, out: { type: 'string', short: 'o' }, help: { type: 'boolean', short: 'h' } } });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${INFER_USAGE}\n`);
    return EXIT_USAGE;
  }
  if (parsed.values.help || parsed.positionals.length === 0) {
    process.stdout.write(INFER_USAGE + '\n');
    return parsed.values.help ? 0 : EXIT_USAGE;
  }
  // Without a config file only the model defaults matter: infer talks to no broker.
  const config = readConfig(parsed.values.config, parsed.values.config ? undefined : { kafka: { security: 'plaintext' } });
  // Results go to stdout as JSON lines; the log goes to stderr so they can be piped.
  const logger = createLogger({ level: config.log.level, scope: 'cloud', stream: process.stderr, journald: false });
  const outcome = await inferCommand({ images: parsed.positionals, ...(parsed.values.out ? { outDir: parsed.values.out } : {}), model: poseModelOptions(config.model), maxPixels: config.ingest.maxFramePixels }, logger);
  // EX_DATAERR: some input images were bad; each has its line on stderr.
  return outcome.failed > 0 ? 65 : 0;
}

async function command(argv: string[], options: MainOptions): Promise<number> {
  const [name, ...rest] = argv;
  if (name === 'infer') return infer(rest);
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(USAGE + '\n');
    return name === undefined ? EXIT_USAGE : 0;
  }
  let values: { config?: string };
  try {
    ({ values } = parseArgs({ args: rest, options: { config: { type: 'string', short: 'c' } }, strict: true }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return EXIT_USAGE;
  }
  if (name === 'check-config') {
    process.stdout.write(describeConfig(readConfig(values.config)) + '\n');
    return 0;
  }
  if (name === 'run') return run(values.config, options);
  process.stderr.write(`unknown command "${name}"\n${USAGE}\n`);
  return EXIT_USAGE;
}

/** frameline-cloud's entry point: returns the process exit status (64 usage, 78 invalid config, 1 failure). */
export async function main(argv: string[] = process.argv.slice(2), options: MainOptions = {}): Promise<number> {
  try {
    return await command(argv, options);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(err.message + '\n');
    return EXIT_CONFIG;
  }
}
